/* iosim.h — the one public header of libiosim.
 *
 * Concepts:
 *   - A *trace* is a versioned header and records (iosim_rec_t) in zstd
 *     frames: format v2 stores them in blocks of delta-coded columns, each
 *     with a checksum, and a block index; v1 as 48-byte little-endian
 *     records in one zstd stream (traces/FORMAT.md).  The same records also
 *     have a line-per-record text form for tests.
 *   - A *config* is a tree of parameters (every one with type, default,
 *     range, help and source) loaded from YAML and overridden by --set.
 *   - A *sim* is one model instance (guest OS policy + hypervisor + VT-d
 *     hardware + stats).  The replay engine decodes a trace once and hands
 *     each batch of records to every sim, so one pass can compare several
 *     configurations (--compare).
 *   - Every counter is declared once (sim/stats/stat_list.h) and printed as
 *     text, JSON or CSV.
 * Assumptions:
 *   - Library functions never exit; they return -1 (or NULL) and fill an
 *     iosim_err_t with one line naming the file and the place.
 * Not modeled here: see each module header.
 */
#ifndef IOSIM_H
#define IOSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iosim_costs.h" /* the causes of CPU cost */
#include "iosim_err.h"   /* the error type */

#ifdef __cplusplus
extern "C" {
#endif

#define IOSIM_VERSION_STRING "0.1.0"

/* Exit status main() uses for any bad input (file, YAML, trace, flag). */
#define IOSIM_EXIT_BAD_INPUT 2

/* Errors: iosim_err_t, iosim_err_set, iosim_err_key (iosim_err.h). */

/* ------------------------------------------------------------------ */
/* Trace records (traces/FORMAT.md is the normative description)       */
/* ------------------------------------------------------------------ */
typedef enum iosim_rec_kind {
    IOSIM_REC_MAP = 1,   /* iommu_map(): iova..iova+size -> phys           */
    IOSIM_REC_UNMAP = 2, /* iommu_unmap(): iova..iova+size                  */
    IOSIM_REC_DMA = 3,   /* a device access of size bytes at iova           */
    IOSIM_REC_INVAL = 4, /* one QI descriptor as the kernel submitted it    */
    IOSIM_REC_MARK = 5,  /* request / packet / window boundary with an id   */
    IOSIM_REC_KIND_MAX = 5
} iosim_rec_kind_t;

/* MAP prot bits (flags) */
#define IOSIM_PROT_READ 0x1u
#define IOSIM_PROT_WRITE 0x2u
/* DMA direction (flags): device writes memory (rx) vs reads it (tx) */
#define IOSIM_DMA_READ 0x0u
#define IOSIM_DMA_WRITE 0x1u
/* INVAL flags */
#define IOSIM_INVAL_IH 0x1u /* invalidation hint: leaf-only change */
/* MARK flags */
#define IOSIM_MARK_REQUEST                                                     \
    0x0u                      /* a request / packet boundary (id = request)    \
                               */
#define IOSIM_MARK_BEGIN 0x1u /* measurement window starts (BENCH_START)    */
#define IOSIM_MARK_END 0x2u   /* measurement window ends (BENCH_END)        */
/* a page the driver posts to the device again while it stays mapped (a
 * recycled rx page: no MAP record); iova/size name the page.  Written by
 * `gen nic --driver-only --rx-cache`; no kernel tracepoint gives it
 * (traces/FORMAT.md, docs/dev-mlx5.md) */
#define IOSIM_MARK_REPOST 0x3u

/* INVAL descriptor types: VT-d spec §6.5.2, Linux intel/iommu.h QI_*_TYPE
 * (MODEL.md §3.5). */
typedef enum iosim_desc_type {
    IOSIM_DESC_CC = 1,      /* context-cache                         */
    IOSIM_DESC_IOTLB = 2,   /* IOTLB (second-stage)                  */
    IOSIM_DESC_DEVTLB = 3,  /* device-TLB (ATS)                      */
    IOSIM_DESC_IEC = 4,     /* interrupt entry cache                 */
    IOSIM_DESC_WAIT = 5,    /* invalidation wait                     */
    IOSIM_DESC_PIOTLB = 6,  /* PASID-based IOTLB                     */
    IOSIM_DESC_PC = 7,      /* PASID cache                           */
    IOSIM_DESC_PDEVTLB = 8, /* PASID-based device-TLB                */
} iosim_desc_type_t;

/* INVAL granularity (gran) — the VT-d G field values of the IOTLB
 * descriptor; other descriptor types map onto the same scale:
 * CC: 1 global, 2 domain, 3 device; PIOTLB: 2 PASID-selective, 3 page;
 * DEVTLB: 3 (range given by iova/am), 1 whole device (am >= 52). */
#define IOSIM_GRAN_GLOBAL 1u
#define IOSIM_GRAN_DOMAIN 2u
#define IOSIM_GRAN_PAGE 3u

/* In-memory form of one record.  Format v1 stores it as 48 bytes,
 * little-endian, fields in the order below (FORMAT.md). */
typedef struct iosim_rec {
    uint64_t t;        /* time in trace time units (ns in v1 and v2)        */
    uint64_t iova;     /* MAP/UNMAP/DMA: IO virtual address; INVAL: ADDR    */
    uint64_t size;     /* bytes; INVAL: 0                                   */
    uint64_t aux;      /* MAP: phys; INVAL: raw qw0; MARK: id; else 0       */
    uint32_t pasid;    /* PASID (0 = requests without PASID)                */
    uint16_t device;   /* PCI source id bus<<8 | dev<<3 | fn                */
    uint16_t domain;   /* domain id (DID)                                   */
    uint8_t kind;      /* iosim_rec_kind_t                                  */
    uint8_t cpu;       /* CPU that issued it (MAP/UNMAP/INVAL/MARK)         */
    uint8_t flags;     /* prot / direction / IH / mark kind (see above)     */
    uint8_t desc;      /* INVAL: iosim_desc_type_t                          */
    uint8_t gran;      /* INVAL: granularity                                */
    uint8_t am;        /* INVAL: address mask, 2^am pages                   */
    uint16_t reserved; /* MAP: IOSIM_SEG_* (import qemu --pcap); else 0   */
} iosim_rec_t;

/* A MAP's `reserved` (FORMAT.md §4): the guest tx frame in its buffer, as
 * `iosim-trace import qemu --pcap` joined it; 0 = not known.  KNOWN, TCP
 * (an IPv4 TCP segment) and in the low 3 bits what libslirp's tcp_input
 * sends at once in answer (0 nothing; 1 SYN-ACK path, 2 in-sequence data
 * acknowledging nothing new, 3 FIN, 4 out-of-order/reassembly, 5 data
 * before rcv_nxt, 6 dropafterack or third duplicate ACK, 7 RST:
 * sim/trace/pcap_slirp.h slirp_answer_t). */
#define IOSIM_SEG_KNOWN 0x8000u
#define IOSIM_SEG_TCP 0x0008u
#define IOSIM_SEG_ANSWER 0x0007u

#define IOSIM_REC_DISK_SIZE 48u

#define IOSIM_META_REFS_MAX 8
/* Settings a trace implies (metadata implies.KEY=VALUE), at most. */
#define IOSIM_META_IMPLIES_MAX 32

/* Trace metadata (header).  Strings are NUL-terminated, may be empty. */
typedef struct iosim_trace_meta {
    char source[64];   /* "ftrace", "qemu", "gen-random", "gen-nic", "text" */
    char kernel[64];   /* uname -r of the traced kernel                     */
    char policy[32];   /* "strict" | "lazy" | "passthrough" | ""            */
    char workload[64]; /* "redis", "memcached", "nginx", ...                */
    char device[32];   /* device model of the traced NIC (dev.model auto):
                          "virtio-net", "e1000e", "mlx5"; "" = unknown   */
    char retimed[48];  /* how the times were rescaled (iosim-trace retime),
                          e.g. "x0.0125 to 100 Gb/s"; "" = as captured  */
    char time_unit[8]; /* "ns" for format v1                                */
    uint32_t cpus;     /* CPUs of the traced machine                        */
    uint32_t has_dma;  /* 1 if the trace carries real DMA records           */
    uint64_t requests; /* application requests in the measurement window
                          (from the load generator; 0 = unknown).  Used
                          when the trace has no MARK request records.  */
    /* Reference counters: what the capture itself counted over the whole
     * trace, each named as the statistic it is to be compared with (e.g.
     * QEMU's own IOTLB hits -> "iotlb.hits").  Key `ref.<name>`. */
    uint32_t n_refs;
    struct iosim_meta_ref {
        char name[48]; /* [a-z0-9_.]+ */
        uint64_t value;
    } refs[IOSIM_META_REFS_MAX];
    /* Settings a replay of the trace needs, as its producer (a generator,
     * an importer) knew them: configuration KEY=VALUE, applied by
     * iosim_config_apply_trace to every key the configuration does not
     * give itself.  Key `implies.<KEY>`. */
    uint32_t n_implies;
    struct iosim_meta_imply {
        char key[64];   /* a configuration key: [a-z0-9_.-]+ */
        char value[64]; /* as --set takes it */
    } implies[IOSIM_META_IMPLIES_MAX];
} iosim_trace_meta_t;

/* Sets reference counter `name` (added, or replaced if present).  Returns
 * 0, or -1 if the name is not [a-z0-9_.]{1,47} or the table is full. */
int iosim_trace_meta_set_ref(iosim_trace_meta_t *m, const char *name,
                             uint64_t value);
/* Sets implied setting key=value (added, or replaced if present).
 * Returns 0, or -1 if the key is not [a-z0-9_.-]{1,63}, the value is
 * longer than 63 bytes or holds a control character, or the table is
 * full. */
int iosim_trace_meta_set_implies(iosim_trace_meta_t *m, const char *key,
                                 const char *value);
/* The value of reference counter `name`, or false if the trace has none. */
bool iosim_trace_meta_ref(const iosim_trace_meta_t *m, const char *name,
                          uint64_t *value);
/* The device model (meta.device) that completes a driver-only trace
 * (has_dma 0) of trace source `source` with the device's accesses, as the
 * device-model registry says; "" when none does. */
const char *iosim_dev_model_completing(const char *source);

/* Reading: iosim_trace_open() accepts the binary (zstd) form and the text
 * form, telling them apart by the zstd frame magic. */
typedef struct iosim_trace_reader iosim_trace_reader_t;
iosim_trace_reader_t *iosim_trace_open(const char *path, iosim_err_t *err);
const iosim_trace_meta_t *iosim_trace_meta(const iosim_trace_reader_t *r);
/* The path the reader was opened with (for messages). */
const char *iosim_trace_path(const iosim_trace_reader_t *r);
/* Returns the number of records stored into out (1..max), 0 at a clean
 * end of trace, -1 on error (truncated, corrupt, unknown kind ...). */
long iosim_trace_read(iosim_trace_reader_t *r, iosim_rec_t *out, size_t max,
                      iosim_err_t *err);
/* iosim_trace_read where the records need not be copied: *recs points at
 * them, in buf or in the reader's own storage (blocks decoded ahead by
 * iosim_trace_set_decode_threads), valid until the next call on r.  The
 * same records, counts and errors as iosim_trace_read, though a call may
 * return fewer records (a block's end). */
long iosim_trace_read_ref(iosim_trace_reader_t *r, iosim_rec_t *buf, size_t max,
                          const iosim_rec_t **recs, iosim_err_t *err);
/* The line (from 1) of record `record` (from 0, as FORMAT.md §4 numbers
 * them) of a text trace, once read; 0 for a binary trace or a record not
 * read yet. */
uint64_t iosim_trace_record_line(const iosim_trace_reader_t *r,
                                 uint64_t record);
/* Moves a format v2 trace to record `record` (from 0; the record count is
 * the end) through its block index (traces/FORMAT.md §8.5), decoding only
 * the block that holds it: the next read returns that record.  0, or -1
 * with one line in err: a text or v1 trace (no index), a file without the
 * index or with a bad one, a record past the end, a bad block there (later
 * reads repeat that error). */
int iosim_trace_seek(iosim_trace_reader_t *r, uint64_t record,
                     iosim_err_t *err);
/* Decodes the blocks of a format v2 trace on n threads ahead of the reads
 * (0, the default: on the reading thread; at most 16).  The records, their
 * order and every error are those of reading without threads.  No effect
 * on a text or v1 trace, or on a file that is not a regular file. */
void iosim_trace_set_decode_threads(iosim_trace_reader_t *r, unsigned n);
/* Bytes of compressed input consumed so far and the file size (progress). */
void iosim_trace_progress(const iosim_trace_reader_t *r, uint64_t *done,
                          uint64_t *total);
void iosim_trace_close(iosim_trace_reader_t *r);
/* Keeps a copy of every record r hands out from here on, so that
 * iosim_trace_reopen can give them again without decoding the file: only
 * a format v2 file not read yet whose block index (FORMAT.md §8.5) says
 * it holds at most max_bytes of records (sizeof(iosim_rec_t) each), so
 * the memory is bounded by max_bytes whatever the trace's length.
 * Returns whether it keeps them (false: a text or v1 trace, no index,
 * more records, records read already, or no memory; nothing changes). */
bool iosim_trace_keep(iosim_trace_reader_t *r, size_t max_bytes);
/* A new reader of r's trace from its first record: the records r kept
 * (iosim_trace_keep), when it handed out every one of them to the clean
 * end, which move to the new reader (r keeps none; a reader of them
 * passes them on the same way); otherwise iosim_trace_open(path), or of
 * r's own path when path is NULL.  The same records, metadata and path
 * either way; progress goes over the kept records in proportion to the
 * file's size.  NULL with err set on failure. */
iosim_trace_reader_t *iosim_trace_reopen(iosim_trace_reader_t *r,
                                         const char *path, iosim_err_t *err);

/* Writing: output goes to "<path>.tmp.<pid>" and is renamed onto path only
 * by iosim_trace_commit(), so a failed run leaves no partial file.
 * text=true writes the text form (uncompressed). */
typedef struct iosim_trace_writer iosim_trace_writer_t;
iosim_trace_writer_t *iosim_trace_create(const char *path,
                                         const iosim_trace_meta_t *meta,
                                         bool text, iosim_err_t *err);
int iosim_trace_write(iosim_trace_writer_t *w, const iosim_rec_t *recs,
                      size_t n, iosim_err_t *err);
/* commit and abort both free w (after a failed commit the temp file is
 * already removed: do not call abort too). */
int iosim_trace_commit(iosim_trace_writer_t *w, iosim_err_t *err);
/* The temporary a writer of path uses until the commit ("<path>.tmp.<pid>"),
 * for a program that removes it when it is killed.  Returns what snprintf
 * returns. */
int iosim_trace_temp_name(const char *path, char *buf, size_t n);
void iosim_trace_abort(iosim_trace_writer_t *w); /* removes the temp file */

/* Text form of one record (no newline).  Returns chars written or -1. */
int iosim_rec_to_text(const iosim_rec_t *r, char *buf, size_t n);
/* Parses one text line: 0 = a record in *out, 1 = no record (blank or
 * comment line), -1 = error with a reason (no location) in why. */
int iosim_rec_from_text(const char *line, iosim_rec_t *out, char *why,
                        size_t whylen);
const char *iosim_rec_kind_name(unsigned kind);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */
typedef struct iosim_config iosim_config_t;

typedef enum iosim_format {
    IOSIM_FMT_TEXT = 0,
    IOSIM_FMT_JSON = 1,
    IOSIM_FMT_CSV = 2
} iosim_format_t;

iosim_config_t *iosim_config_new(void); /* every parameter at its default */
iosim_config_t *iosim_config_clone(const iosim_config_t *c);
void iosim_config_free(iosim_config_t *c);
/* Loads YAML over the current values.  Errors: "file:line:col: key.path: msg"
 */
int iosim_config_load(iosim_config_t *c, const char *path, iosim_err_t *err);
/* "a.b.c=value"; errors name "--set a.b.c". */
int iosim_config_set(iosim_config_t *c, const char *assignment,
                     iosim_err_t *err);
/* Did the config file, a --set or a --compare / sweep item give key its
 * value (iosim_config_load, iosim_config_set)?  A key at its default, or
 * set by iosim_config_apply_trace, was not given. */
bool iosim_config_given(const iosim_config_t *c, const char *key);
/* The settings the trace's metadata implies (meta->implies), each applied
 * to c unless c gives that key itself (iosim_config_given), then c
 * validated when any applied.  iosim_sim_new does this to its copy of
 * the configuration, so every front end replays a trace with them; a
 * report's echo does it too.  0, or -1 with err keyed "meta.implies" (an
 * unknown key, a bad value, or a configuration they make invalid). */
int iosim_config_apply_trace(iosim_config_t *c, const iosim_trace_meta_t *meta,
                             iosim_err_t *err);
/* Cross-parameter checks (e.g. sets power of two); run before building.
 * Errors: "key.path: msg". */
int iosim_config_validate(const iosim_config_t *c, iosim_err_t *err);
/* Where YAML file `path` (already loaded without error) writes key `key`
 * (a parameter, or the first parameter of a group such as vtd.iotlb):
 * 1-based *line and *col of that key.  Returns 0, or -1 if the file does
 * not name it.  Lets a caller point a validation error at the file. */
int iosim_config_key_position(const char *path, const char *key, size_t *line,
                              size_t *col);
/* Resolved configuration: text "key = value # help", JSON object, or CSV. */
void iosim_config_write(const iosim_config_t *c, FILE *out, iosim_format_t fmt);
/* Calls fn for every parameter whose value in c differs from base, in
 * table order, with its key and c's value as text; returns how many. */
typedef void (*iosim_config_diff_fn)(const char *key, const char *value,
                                     void *arg);
size_t iosim_config_diff(const iosim_config_t *base, const iosim_config_t *c,
                         iosim_config_diff_fn fn, void *arg);
/* Parameter reference (name, type, default, range, help, source). */
void iosim_config_write_reference(FILE *out);
/* The same for the parameters under filter (a key or group: vtd.iotlb; if
 * no key or group is that, every key containing the text: iotlb); NULL =
 * all.  Returns the rows written (0: none matched, nothing written). */
size_t iosim_config_write_reference_matching(FILE *out, const char *filter);
/* The known key or group nearest to key (a misspelling), as the YAML
 * loader and --set suggest it: true with it in buf. */
bool iosim_config_suggest_key(const char *key, char *buf, size_t n);

/* ------------------------------------------------------------------ */
/* Simulation                                                          */
/* ------------------------------------------------------------------ */
typedef struct iosim_sim iosim_sim_t;

/* label names the instance in reports ("strict", "lazy", ...). */
iosim_sim_t *iosim_sim_new(const iosim_config_t *cfg, const char *label,
                           const iosim_trace_meta_t *meta, iosim_err_t *err);
int iosim_sim_consume(iosim_sim_t *s, const iosim_rec_t *recs, size_t n,
                      iosim_err_t *err);
int iosim_sim_finish(iosim_sim_t *s, iosim_err_t *err);
void iosim_sim_free(iosim_sim_t *s);
const char *iosim_sim_label(const iosim_sim_t *s);
/* After a failed iosim_sim_consume/finish: true with the number (from 0)
 * of the record that failed, false if the failure was not a record's
 * (e.g. the end-of-trace flush of a policy). */
bool iosim_sim_failed_record(const iosim_sim_t *s, uint64_t *record);
/* The configuration the sim runs (its own copy). */
const iosim_config_t *iosim_sim_config(const iosim_sim_t *s);

/* Time series: one CSV row per epoch_ns of trace time, every counter's
 * growth in it (gauges: the value at its end; system/epoch.c), written to
 * out as the sim runs, starting from its first record and covering the
 * whole trace (sim.window_only does not apply).  Call before the first
 * record; out stays the caller's.  The header: iosim_epoch_csv_header(). */
int iosim_sim_set_epochs(iosim_sim_t *s, uint64_t epoch_ns, FILE *out,
                         iosim_err_t *err);
void iosim_epoch_csv_header(FILE *out);

/* Translation log: one CSV row per 4 KB page a device access translates
 * (result devtlb / iotlb / walk / fault / none, memory reads, latency;
 * system/xlate_log.c), written to out as the sim runs, whole trace.  Call
 * before the first record; out stays the caller's.  The header:
 * iosim_xlate_log_csv_header(). */
int iosim_sim_set_xlate_log(iosim_sim_t *s, FILE *out, iosim_err_t *err);
void iosim_xlate_log_csv_header(FILE *out);

/* Access dump: one CSV row per 4 KB page of every device access (the
 * trace's DMA records and the device model's, with the model's name for
 * each; the access's IOVA and size, the IOTLB outcome and the MAP record
 * whose buffer holds the page; system/access_dump.c), written to out as
 * the sim runs, whole trace.  Call before the first record; out stays the
 * caller's.  The header: iosim_access_dump_csv_header(). */
int iosim_sim_set_access_dump(iosim_sim_t *s, FILE *out, iosim_err_t *err);
void iosim_access_dump_csv_header(FILE *out);

/* Input warnings: what is suspicious in a trace but replayable (stray
 * unmaps, DMA to unmapped IOVAs, time going backwards, wrapped ranges;
 * system/input_warnings.h), counted over the whole trace.  With strict
 * input set (before the first record) the first one is an error of its
 * record instead (iosim --strict-input). */
size_t iosim_warning_count(void);
const char *iosim_warning_name(size_t i); /* "input.stray_unmaps" */
const char *iosim_warning_desc(size_t i);
uint64_t iosim_sim_warning(const iosim_sim_t *s, size_t i);
void iosim_sim_set_strict_input(iosim_sim_t *s, bool strict);

/* Counters: index space shared by all sims (declared in stat_list.h). */
size_t iosim_stat_count(void);
const char *iosim_stat_name(size_t i); /* "iotlb.misses" */
const char *iosim_stat_desc(size_t i);
uint64_t iosim_sim_stat(const iosim_sim_t *s, size_t i);
/* Looks a counter up by name; returns false if there is none. */
bool iosim_sim_stat_by_name(const iosim_sim_t *s, const char *name,
                            uint64_t *value);
/* Derived metrics (ratios); value NAN-free: returns false when the
 * denominator is zero (printed as null). */
size_t iosim_derived_count(void);
const char *iosim_derived_name(size_t i);
const char *iosim_derived_desc(size_t i);
bool iosim_sim_derived(const iosim_sim_t *s, size_t i, double *value);
bool iosim_sim_derived_by_name(const iosim_sim_t *s, const char *name,
                               double *value);

/* Per-request summary of one sim (all per request of the trace):
 * CPU-bound time = the busiest CPU's (sim.app_cycles_per_request x its
 * requests + its IOMMU cycles) / GHz, divided by all requests (the CPUs
 * work in parallel; a request belongs to the CPU of its MARK, IOMMU
 * cycles to the CPU of the record that caused them; a trace without
 * request MARKs counts as one CPU), device-bound time = device busy time;
 * throughput = 1 / max of the two.
 * The no-IOMMU baseline drops the IOMMU cycles and translation latency,
 * which is what passthrough (iommu=pt, bare metal) costs.  valid is false
 * when the trace has no request count; the latency fields are filled
 * whenever there were DMA requests. */
typedef struct iosim_summary {
    bool valid;
    double requests;
    double iommu_cycles; /* per request, all causes          */
    /* per request, by cause: <field>_cycles of each iosim_costs.h cause */
#define IOSIM_X_CAUSE(a, id, field, what, help) double field##_cycles;
    IOSIM_CPU_COSTS(IOSIM_X_CAUSE, )
#undef IOSIM_X_CAUSE
    double vmexits;          /* per request                      */
    double cpus;             /* CPUs that issued requests        */
    double mem_reads_per_4k; /* IOMMU memory reads per 4 KB page */
    double cpu_ns, device_ns;
    double throughput_rps, baseline_rps, degradation; /* 0..1       */
    /* F&S's throughput p / (l0 + M lm) in Gb/s, one 4 KB page of data per
     * request (stats.c) */
    double fands_gbps;
    /* translation latency per DMA request (ns, 1 ns resolution) */
    double latency_mean_ns, latency_p50_ns, latency_p99_ns;
} iosim_summary_t;
void iosim_sim_summary(const iosim_sim_t *s, iosim_summary_t *out);
/* The summary's fields by index, as reports list them. */
size_t iosim_summary_count(void);
const char *iosim_summary_name(size_t i); /* "throughput_rps" */
const char *iosim_summary_desc(size_t i);
double iosim_summary_field(const iosim_summary_t *s, size_t i);

/* Replay: decodes the trace once, feeds every sim, finishes them.
 * progress (may be NULL) is called now and then with bytes done/total. */
typedef void (*iosim_progress_fn)(uint64_t done, uint64_t total,
                                  uint64_t records, void *arg);
int iosim_replay(const char *trace_path, iosim_sim_t **sims, size_t nsims,
                 iosim_progress_fn progress, void *progress_arg,
                 iosim_err_t *err);
int iosim_replay_reader(iosim_trace_reader_t *r, iosim_sim_t **sims,
                        size_t nsims, iosim_progress_fn progress,
                        void *progress_arg, iosim_err_t *err);
/* The same with the sims run on up to `threads` worker threads (T =
 * min(threads, nsims); a sim runs on one thread at a time, engine.c)
 * while the calling thread decodes;
 * 0 = one per online CPU; 1 = no thread (what iosim_replay_reader does).
 * Results and errors do not depend on the count: every sim sees the same
 * records in the same order, an error names the same sim and record, and
 * progress and iosim_sim_finish() run on the calling thread.  The sims
 * must share no mutable state (those of iosim_sim_new() never do). */
int iosim_replay_reader_threads(iosim_trace_reader_t *r, iosim_sim_t **sims,
                                size_t nsims, unsigned threads,
                                iosim_progress_fn progress, void *progress_arg,
                                iosim_err_t *err);
/* iosim_replay_reader_threads for sims that may share runs (sweep/
 * share.c): sims equal but for the IOTLB's geometry (LRU, walks in flight
 * complete, no rows of their own) whose IOTLBs hit and miss at the same
 * lookups compute the same, but for the IOTLB's evictions and entries
 * invalidated; one of them runs, watched by an all-associativity shadow,
 * and the others take its results, the two counters from the shadow.
 * Results are those of iosim_replay_reader_threads.  Sims that differed
 * run in a second pass (the trace read again: the records the first pass
 * kept when they fit in 16 MB, iosim_trace_keep, else reopened from
 * trace_path), again
 * grouped where the shadow saw equal differences, and in a third alone.
 * note (note_len bytes; "" when no sims could share) says what was done.
 */
int iosim_replay_shared(iosim_trace_reader_t *r, const char *trace_path,
                        iosim_sim_t **sims, size_t nsims, unsigned threads,
                        iosim_progress_fn progress, void *progress_arg,
                        char *note, size_t note_len, iosim_err_t *err);

/* Report: resolved config + trace metadata + every sim's stats. */
void iosim_report_write(FILE *out, iosim_format_t fmt,
                        const iosim_config_t *cfg,
                        const iosim_trace_meta_t *meta,
                        iosim_sim_t *const *sims, size_t nsims);
/* Where a report came from, at its head in every format (and in every
 * row of a sweep's table, under the same names): the command (the
 * options that change no number of the report left out: -o, --threads,
 * --progress, --no-progress, --epoch-out, --xlate-log), the trace file's
 * path as given, size and SHA-256, the config file's path and SHA-256
 * (NULL: built-in defaults).  Nothing in it varies between identical
 * runs. */
typedef struct iosim_provenance {
    char *command; /* malloc'ed; shell-quoted words */
    const char *trace;
    uint64_t trace_bytes;
    char trace_sha256[65];
    const char *config_file;
    char config_sha256[65];
    const char *replay; /* how the sims ran (iosim_replay_shared's note);
                           NULL or "": not said */
    void *hashing;      /* the trace's hash on a thread of its own
                           (iosim_provenance_fill_ahead), NULL: none */
} iosim_provenance_t;
int iosim_provenance_fill(iosim_provenance_t *p, int argc, char *const *argv,
                          const char *trace, const char *config_file,
                          iosim_err_t *err);
/* iosim_provenance_fill with the trace's SHA-256 computed on a thread of
 * its own while the caller goes on (the replay, which does not depend on
 * it): the trace file is opened here (a file that cannot be opened is
 * the same error, at once), trace_bytes and trace_sha256 are set by
 * iosim_provenance_finish, which waits for the thread and returns 0, or
 * -1 with err set as iosim_provenance_fill would have (a read error).
 * Where no thread can be started the hash is computed here.  The fields
 * are the same either way. */
int iosim_provenance_fill_ahead(iosim_provenance_t *p, int argc,
                                char *const *argv, const char *trace,
                                const char *config_file, iosim_err_t *err);
int iosim_provenance_finish(iosim_provenance_t *p, iosim_err_t *err);
/* Also waits for a hash still running. */
void iosim_provenance_free(iosim_provenance_t *p);
/* iosim_report_write with the provenance at its head (prov may be NULL). */
void iosim_report_write_prov(FILE *out, iosim_format_t fmt,
                             const iosim_provenance_t *prov,
                             const iosim_config_t *cfg,
                             const iosim_trace_meta_t *meta,
                             iosim_sim_t *const *sims, size_t nsims);
/* Every metric a report can hold, one per line: section (stat, derived,
 * warning, summary: CSV's first column), name, unit, description,
 * tab-separated (iosim --list-stats). */
void iosim_report_list_metrics(FILE *out);

/* ------------------------------------------------------------------ */
/* Experiments: configuration points, plans, sweep files (sim/sweep/)  */
/* ------------------------------------------------------------------ */
/* One configuration of a batch: the base configuration, then an optional
 * --compare item (policy[@mode][:kernel]: the mode brings the settings
 * it needs, hv.h implies), then KEY=VALUE assignments in order. */
#define IOSIM_POINT_MAX_SETS 16
typedef struct iosim_point {
    char name[64];  /* label prefix: a variant's name, else the item, else
                       "" (the base's os.policy) */
    char item[64];  /* --compare item, "" = none */
    bool from_file; /* a sweep file's point (messages say where) */
    size_t nsets;
    struct iosim_point_set {
        char key[96];
        char value[128];
        bool in_label;      /* " key=value" is part of the label */
        unsigned line, col; /* where a sweep file gave it (1-based) */
    } sets[IOSIM_POINT_MAX_SETS];
} iosim_point_t;

/* The point's label: name (or base's os.policy), then " key=value" of each
 * set in_label.  Returns what snprintf returns. */
int iosim_point_label(const iosim_config_t *base, const iosim_point_t *pt,
                      char *buf, size_t n);
/* The point's configuration (validated, not resolved against a trace):
 * *out is the caller's.  Errors are about the key (err->key set) as
 * iosim_config_set / _validate give them. */
int iosim_point_config(const iosim_config_t *base, const iosim_point_t *pt,
                       iosim_config_t **out, iosim_err_t *err);
/* A sim of the point on a trace; errors name the point ("--compare
 * LABEL: ..." for a command-line item, "LABEL: ..." otherwise). */
iosim_sim_t *iosim_point_sim_new(const iosim_config_t *base,
                                 const iosim_point_t *pt,
                                 const iosim_trace_meta_t *meta,
                                 iosim_err_t *err);
/* The points of iosim's --compare LIST and --sweep KEY=V1,V2,...
 * options: every item times every combination of the sweep values (the
 * last sweep varying fastest), at most max points; *pts is malloc'ed.
 * Errors name the option ("--sweep KEY: value 'x' given twice"). */
int iosim_plan_cli(const char *compare, const char *const *sweeps,
                   size_t nsweeps, size_t max, iosim_point_t **pts,
                   size_t *npts, iosim_err_t *err);

/* A sweep file (EXPERIMENT.yaml; README "Sweeps"): traces (paths or
 * globs, relative to the file), a base config, named variants (--compare
 * items), parameter grids (product and zip blocks, lists or ranges) and
 * the metrics to keep.  Its runs are cut into shards (one trace, up to
 * shard_size configurations: one decode each), written each to a file of
 * its own in a shard directory, atomically; a shard whose file is there
 * is done, so a run killed at any point and started again runs only what
 * is missing.  The merge writes one row per (trace, configuration).
 * Errors in the file: "file:line:col: key: what". */
typedef struct iosim_sweep iosim_sweep_t;
/* command: how the results were asked for, recorded in every row (the
 * options that change no result left out), e.g. "iosim sweep exp.yaml". */
iosim_sweep_t *iosim_sweep_load(const char *path, const char *command,
                                iosim_err_t *err);
void iosim_sweep_free(iosim_sweep_t *s);
size_t iosim_sweep_trace_count(const iosim_sweep_t *s);
size_t iosim_sweep_point_count(const iosim_sweep_t *s);
size_t iosim_sweep_shard_count(const iosim_sweep_t *s);
/* Where the shards go (created if missing; default: the sweep file's
 * path with ".yaml" replaced by ".shards"). */
int iosim_sweep_set_dir(iosim_sweep_t *s, const char *dir, iosim_err_t *err);
const char *iosim_sweep_dir(const iosim_sweep_t *s);
/* Shard i's file is there (and was written for this very sweep file,
 * config file, trace and iosim version). */
bool iosim_sweep_shard_done(const iosim_sweep_t *s, size_t i);
/* Runs shard i unless done, its configurations on `threads` threads. */
int iosim_sweep_run_shard(iosim_sweep_t *s, size_t i, unsigned threads,
                          iosim_err_t *err);
/* Runs every missing shard, up to `jobs` at once (0 = one per CPU);
 * progress (may be NULL) is called from the calling thread as shards
 * end.  The first failing shard's error (in shard order) is returned. */
typedef void (*iosim_sweep_progress_fn)(size_t done, size_t total, void *arg);
int iosim_sweep_run(iosim_sweep_t *s, unsigned jobs,
                    iosim_sweep_progress_fn progress, void *arg,
                    iosim_err_t *err);
/* The results table from the shards (every one must be done): CSV with
 * a header, or JSON lines, one row per (trace, configuration). */
int iosim_sweep_merge(const iosim_sweep_t *s, FILE *out, iosim_format_t fmt,
                      iosim_err_t *err);

#ifdef __cplusplus
}
#endif
#endif /* IOSIM_H */
