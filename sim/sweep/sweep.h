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
 *   - A trace's hash is taken when first needed (sweep_trace_hash): by
 *     iosim_sweep_run on a thread of its own, in order, while the shards
 *     run (a shard needs its key only to write its file, or to find out
 *     whether a file of its number there is its own); loading only checks
 *     that each trace opens.
 * Assumptions: traces do not change while a sweep runs.
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
    char *name;      /* as the sweep file names it (its glob's match) */
    char *path;      /* to open (relative to the sweep file's directory) */
    uint64_t bytes;  /* (set with sha256) */
    char sha256[65]; /* once hashed (sweep_trace_hash) */
    bool hashed;
} sweep_trace_t;

typedef struct sweep_hasher sweep_hasher_t;

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
    sweep_hasher_t *hasher; /* iosim_sweep_run's: traces hashed ahead */
};

/* The metric's name and its value in sim s as the reports print it
 * ("" for null). */
const char *sweep_metric_name(const sweep_metric_t *m);
void sweep_metric_format(const sweep_metric_t *m, const iosim_sim_t *s,
                         char *buf, size_t n);
/* Trace k's sha256 and bytes, hashed here (or waited for, while
 * iosim_sweep_run's thread hashes them).  0, or -1 with err set. */
int sweep_trace_hash(const iosim_sweep_t *s, size_t k, iosim_err_t *err);
/* Ends iosim_sweep_run's hashing (iosim_sweep_free). */
void sweep_hasher_free(sweep_hasher_t *h);
/* "%s/shard-%05zu-%.12s.tsv" of shard i; returns what snprintf returns
 * (its trace hashed first: sweep_trace_hash; a trace that cannot be
 * read gives a key of no shard). */
int sweep_shard_path(const iosim_sweep_t *s, size_t i, char *buf, size_t n);

#endif
