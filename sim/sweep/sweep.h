/* sweep.h — a loaded sweep file, shared by sweep_file.c (loading and
 * planning) and sweep_run.c (shards, runs, the merged table).
 *
 * Concepts:
 *   - The plan: traces x points (variants x grid), cut into shards of one
 *     trace and up to shard_size consecutive points; shard i covers trace
 *     i / shards_per_trace.
 *   - A shard's file is named by a key that hashes what its rows depend on
 *     (iosim version, the sweep file's and the config file's bytes, the
 *     trace's name and bytes, the shard's number): a changed input makes
 *     new names, so no stale shard is merged.
 *   - Columns: provenance, label, variant, the swept keys, the metrics,
 *     then every other configuration key (the full effective config).
 * Assumptions: traces do not change while a sweep runs (their hash is
 *   taken when the file is loaded).
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_SWEEP_H
#define IOSIM_SWEEP_H

#include "iosim.h"

/* At most this many configurations per trace and traces per sweep. */
#define SWEEP_MAX_POINTS 100000
#define SWEEP_MAX_TRACES 4096
/* Default and largest configurations per shard (one decode each; the
 * largest is iosim's per-pass limit). */
#define SWEEP_SHARD_DEFAULT 64
#define SWEEP_SHARD_MAX 256

typedef enum sweep_metric_kind {
    SWEEP_STAT,
    SWEEP_DERIVED,
    SWEEP_WARNING,
    SWEEP_SUMMARY
} sweep_metric_kind_t;

typedef struct sweep_metric {
    sweep_metric_kind_t kind;
    size_t index;
} sweep_metric_t;

typedef struct sweep_trace {
    char *name; /* as the sweep file names it (its glob's match) */
    char *path; /* to open (relative to the sweep file's directory) */
    uint64_t bytes;
    char sha256[65];
} sweep_trace_t;

struct iosim_sweep {
    char *file;      /* as given */
    char sha256[65]; /* of its bytes */
    char *command;
    char *config_name; /* as written ("" = built-in defaults) */
    char config_sha256[65];
    iosim_config_t *base; /* config file + set */
    sweep_trace_t *traces;
    size_t ntraces;
    iosim_point_t *points;
    size_t npoints;
    size_t shard_size, shards_per_trace;
    sweep_metric_t *metrics;
    size_t nmetrics;
    char **swept; /* swept keys, in order */
    size_t nswept;
    char *dir;
};

/* The metric's name and its value in sim s as the reports print it
 * ("" for null). */
const char *sweep_metric_name(const sweep_metric_t *m);
void sweep_metric_format(const sweep_metric_t *m, const iosim_sim_t *s,
                         char *buf, size_t n);
/* "%s/shard-%05zu-%.12s.tsv" of shard i; returns what snprintf returns. */
int sweep_shard_path(const iosim_sweep_t *s, size_t i, char *buf, size_t n);

#endif
