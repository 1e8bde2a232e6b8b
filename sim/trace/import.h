/* import.h — importers that turn captured text traces into iosim records
 * (internal to the library and the `iosim-trace import` command).
 *
 * Concepts:
 *   - An *import source* is an ops struct (import_source_t: name,
 *     summary, its options as gen_param_t rows, validate, run, describe)
 *     listed in the NULL-terminated table import_sources[]
 *     (import_registry.c); `iosim-trace import` builds its usage and
 *     parses a source's options from the rows.  A new source = one file +
 *     one table line.
 *   - Every source reads through an import_in_t (plain text or zstd,
 *     told apart by the frame magic, decompressed streaming) and writes
 *     through an import_sink_t, which
 *       1. stamps the domain of MAP/UNMAP/DMA records (ftrace map/unmap
 *          carry none: the most common DID of the first IMPORT_DID_VOTES
 *          IOTLB/P_IOTLB descriptors with DID != 0 is used, see
 *          import_sink_note_did()),
 *       2. applies the --window filter (keep records between a MARK BEGIN
 *          and the next MARK END, both MARKs included),
 *       3. creates the trace writer lazily (metadata such as the CPU count
 *          is known only after the header / first records) or hands the
 *          records to a callback (unit tests).
 *   - The ftrace parser is pull-style (ftrace_parser_next) so that the
 *     QEMU importer can merge the guest stream with the QEMU log; the
 *     trace-cmd source, whose library hands over records by callback,
 *     pushes them instead (ftrace_parser_put / ftrace_parser_drain).
 *     Both ways go through the tie rule (import_ftrace.c), which holds
 *     one equal-timestamp group (at most FTRACE_TIE_MAX records).
 *   - The ftrace record builders (ftrace_ev_*) take an event's fields once
 *     read: the text parser reads them from a line, the trace-cmd source
 *     (import_tracecmd.c, built with libtracecmd) from a binary record, so
 *     both make the same records from the same capture.
 * Assumptions:
 *   - Memory is bounded by IMPORT_PENDING_MAX records (domain vote) plus,
 *     for the QEMU merge, one anchor interval (QEMU_INTERVAL_MAX guest
 *     records); it does not grow with the trace length.
 * Not modeled: nothing (format conversion only).
 */
#ifndef IOSIM_IMPORT_H
#define IOSIM_IMPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "iosim.h"
#include "trace/gen.h" /* gen_param_t: the option rows sources declare */

/* Records held back until the domain is decided (then the vote is taken
 * from whatever DIDs were seen; 0 if none). */
#define IMPORT_PENDING_MAX 65536u
/* Number of IOTLB/P_IOTLB descriptors (DID != 0) that decide the domain. */
#define IMPORT_DID_VOTES 16u

/* Options shared by all sources (the command fills them from its flags). */
typedef struct import_opts {
    const char *workload;   /* meta.workload ("" if NULL)                 */
    const char *dev_model;  /* meta.device: the NIC's device model ("" if
                               NULL; iosim's dev.model auto runs it)     */
    const char *policy;     /* meta.policy                                */
    const char *kernel;     /* meta.kernel                                */
    const char *guest_path; /* qemu: the guest ftrace file (--guest)      */
    const char *pcap_path;  /* qemu: the netdev's filter-dump (--pcap)    */
    bool pcap_tap;          /* qemu: that dump is of a tap with its vnet
                               header (--pcap-tap; import_pcap.c)        */
    bool window;            /* keep only BENCH_START..BENCH_END           */
    uint16_t device;        /* source id for map/unmap/DMA (bus<<8|dev<<3|fn) */
    int domain;             /* >= 0: force this DID; -1: vote (see above) */
    uint64_t requests;      /* meta.requests: the load's request count    */
    const char *virtio_ring; /* a virtio NIC's virtqueue format, split or
                                packed ("" or NULL: not recorded): meta
                                implies.dev.virtio-net.ring             */
    uint32_t virtio_rx_size; /* its rx / tx virtqueue sizes (0: not      */
    uint32_t virtio_tx_size; /* recorded): implies.dev.virtio-net.rx_queue_size,
                                tx_queue_size                            */
} import_opts_t;

/* What an import saw; the command prints these on stderr. */
typedef struct import_counts {
    uint64_t lines;   /* input lines read (all inputs)              */
    uint64_t records; /* records written (after the window filter)  */
    uint64_t by_kind[IOSIM_REC_KIND_MAX + 1]; /* written, per kind        */
    uint64_t by_desc[16];     /* written INVAL records per desc type        */
    uint64_t unknown_events;  /* event lines of events we do not convert    */
    uint64_t other_lines;     /* non-event, non-header lines                */
    uint64_t dma_api_skipped; /* dma_* events skipped (iommu events present) */
    uint64_t dma_api_used;    /* dma_* events converted to MAP/UNMAP        */
    uint64_t tie_reordered;   /* records of an equal-timestamp group of
                                 several CPUs taken before the file's next
                                 (the tie rule, import_ftrace.c)        */
    uint64_t tie_unresolved;  /* such groups kept in file order: no order
                                 of them fits the IOVA pages' state ...  */
    uint64_t tie_search_cut;  /* ... or the search's bound was reached  */
    uint64_t outside_window;  /* records dropped by --window                */
    uint64_t entries_in_buffer, entries_written; /* ftrace header          */
    bool overrun;    /* ring overran (X < Y or LOST EVENTS)        */
    uint32_t domain; /* the DID used for map/unmap/DMA             */
    /* QEMU merge */
    uint64_t qemu_dma;              /* vtd_dmar_translate lines read          */
    uint64_t qemu_dma_kept;         /* DMA records produced (before window)   */
    uint64_t qemu_dma_matched;      /* ... placed right after their MAP       */
    uint64_t qemu_dma_unmapped;     /* ... whose IOVA had no traced MAP       */
    uint64_t qemu_premapped;        /* MAPs made explicit for such IOVAs (one
                                       per buffer, from QEMU's translation)  */
    uint64_t qemu_premapped_joined; /* ... pages joined to the explicit
                                       MAP of the page before (one buffer) */
    uint64_t qemu_dma_dropped;  /* before the first / after the last anchor */
    uint64_t qemu_anchors;      /* descriptors matched guest <-> QEMU     */
    uint64_t qemu_reordered;    /* ... of them matched to another guest
                                   descriptor than the first pending one
                                   (two CPUs' tie, import_qemu.c)       */
    uint64_t qemu_desc_skipped; /* QEMU descriptors before the sync point */
    uint64_t qemu_iotlb_hits;   /* QEMU's own IOTLB outcome of the DMAs  */
    uint64_t qemu_iotlb_misses; /*   produced (vtd_iotlb_page_hit/update) */
    uint64_t qemu_tail_writes;  /* vtd_inv_qi_tail before a matched guest
                                   descriptor: trapped submissions */
    uint32_t qemu_sync_candidates; /* offsets whose prefix matched         */
    /* --pcap (import_pcap.c) */
    uint64_t pcap_frames;      /* guest frames in the dump                   */
    uint64_t pcap_joined;      /* ... given to the MAP of their buffer        */
    uint64_t pcap_unjoined;    /* ... after the first pop but not joined      */
    uint64_t pcap_answered;    /* joined ones libslirp answers at once        */
    uint64_t pcap_rx_frames;   /* libslirp's frames to the guest (rx)     */
    uint64_t pcap_rx_joined;   /* ... given to an rx buffer's pop         */
    uint64_t pcap_rx_unjoined; /* ... after the first such join, not      */
    uint64_t pcap_rx_carried;  /* joined ones on their buffer's UNMAP     */
    int64_t pcap_offset_ns;    /* the calibrated clock offset c               */
    bool qemu_timestamps;      /* the QEMU log had tid@sec.usec stamps   */
} import_counts_t;

/* ---------------------------------------------------------------- */
/* Input: plain or zstd text, line by line                          */
/* ---------------------------------------------------------------- */
typedef struct import_in import_in_t;

/* Wraps an open stream (not closed by import_in_free). */
import_in_t *import_in_new(FILE *f, const char *name, iosim_err_t *err);
/* Next line without its newline (NUL-terminated, valid until the next
 * call).  Returns 1, 0 at end, -1 on error ("name: ..."). */
int import_in_line(import_in_t *in, char **line, size_t *len, iosim_err_t *err);
/* 1-based number of the line last returned. */
unsigned long import_in_lineno(const import_in_t *in);
/* Starts again from the beginning (needs a seekable file). */
int import_in_rewind(import_in_t *in, iosim_err_t *err);
void import_in_free(import_in_t *in);

/* ---------------------------------------------------------------- */
/* Output sink                                                      */
/* ---------------------------------------------------------------- */
typedef int (*import_emit_fn)(void *arg, const iosim_rec_t *recs, size_t n,
                              iosim_err_t *err);
typedef struct import_sink import_sink_t;

/* A sink writing a trace file at path (text form if text) on commit. */
import_sink_t *import_sink_file(const char *path, bool text,
                                const import_opts_t *opts,
                                import_counts_t *counts, iosim_err_t *err);
/* A sink handing records to emit (tests). */
import_sink_t *import_sink_callback(import_emit_fn emit, void *arg,
                                    const import_opts_t *opts,
                                    import_counts_t *counts);
/* Metadata the sources fill before the first record is flushed. */
iosim_trace_meta_t *import_sink_meta(import_sink_t *s);
/* For a source that sets metadata after its last record (QEMU's reference
 * counts), or that amends records put earlier (import_sink_held): the
 * sink keeps the records in memory (48 B each) and writes header and
 * records (a callback sink: hands them over) at import_sink_finish(). */
void import_sink_defer_header(import_sink_t *s);
/* Tells the sink the DID of an IOTLB/P_IOTLB descriptor (for the vote). */
void import_sink_note_did(import_sink_t *s, uint16_t did);
int import_sink_put(import_sink_t *s, const iosim_rec_t *r, iosim_err_t *err);
/* The handle of the record last put, UINT64_MAX if the window filter
 * dropped it: its number among the records the sink kept. */
uint64_t import_sink_last_handle(const import_sink_t *s);
/* Records put so far, kept by the window filter or not. */
uint64_t import_sink_puts(const import_sink_t *s);
/* Sets the reserved field of a record put earlier (by handle) that the
 * sink still holds (pending, in the batch, or held by
 * import_sink_defer_header); -1 if it was written out already. */
int import_sink_set_reserved(import_sink_t *s, uint64_t handle, uint16_t value);
/* A record put earlier (by handle) that the sink still holds, to amend
 * (a MAP that grows, import_qemu.c); NULL if it was written out already. */
iosim_rec_t *import_sink_held(import_sink_t *s, uint64_t handle);
/* Flushes everything and commits the file (or finishes the callback). */
int import_sink_finish(import_sink_t *s, iosim_err_t *err);
/* Frees; removes the temp file if not finished. */
void import_sink_free(import_sink_t *s);

/* ---------------------------------------------------------------- */
/* Sources                                                          */
/* ---------------------------------------------------------------- */
typedef struct import_source {
    const char *name;    /* "ftrace"                         */
    const char *summary; /* one line for --help              */
    const char *input;   /* the input in --help ("IN" if NULL) */
    bool reads_stdin;    /* IN '-' reads stdin                */
    /* options of its own: rows whose offsets point into import_opts_t
     * (GEN_OPT_PATH: a file it reads besides IN, whose folder holds the
     * capture's metadata files); NULL = none */
    const gen_param_t *params;
    /* checks opts before run (NULL = nothing to check) */
    int (*validate)(const import_opts_t *opts, const char *in_name,
                    iosim_err_t *err);
    int (*run)(FILE *in, const char *in_name, import_sink_t *sink,
               const import_opts_t *opts, import_counts_t *counts,
               iosim_err_t *err);
    /* what it saw beyond the counts every source has, as lines for the
     * command to print (NULL = nothing) */
    void (*describe)(const import_counts_t *c, char *buf, size_t n);
    /* The settings its traces imply (gen.h gen_imply_t rows, NULL-key
     * ended); NULL with implies_none saying why none applies.  Shown by
     * `import --help`. */
    const gen_imply_t *implies;
    const char *implies_none;
} import_source_t;

/* Why the capture importers imply no setting (import_source_t
 * implies_none). */
#define IMPORT_IMPLIES_NONE                                                    \
    "a capture records the guest's maps, unmaps and invalidations, not "       \
    "the IOMMU's setup: what the importer knows of the machine travels as "    \
    "meta.kernel and meta.device (--kernel, --dev-model), which os.kernel "    \
    "auto and dev.model auto resolve; caching mode, root mode and table "      \
    "levels are not in its events (configs/qemu-guest.yaml gives the "         \
    "captures').  Apart: a virtio NIC's ring format, --virtio-ring (else "     \
    "meta.tsv next to the input: packed when its nic column has packed=on "    \
    "or its virtio_features bit 34 is set), recorded as "                      \
    "implies.dev.virtio-net.ring for the virtio-net model."

extern const import_source_t *const import_sources[];
const import_source_t *import_find(const char *name);
/* Runs src on in into sink (which may be NULL): the way every caller
 * runs a source, so that the sink knows the input's and the source's
 * names for its messages (e.g. an input with nothing to import); the
 * source's validate hook runs first. */
int import_run(const import_source_t *src, FILE *in, const char *in_name,
               import_sink_t *sink, const import_opts_t *opts,
               import_counts_t *counts, iosim_err_t *err);

/* ---------------------------------------------------------------- */
/* import qemu --pcap: guest tx frames joined to their MAPs          */
/* (import_pcap.c; traces/FORMAT.md §4, MAP reserved)                */
/* ---------------------------------------------------------------- */
#define PCAP_SEG_KNOWN IOSIM_SEG_KNOWN   /* a joined tx frame (iosim.h) */
#define PCAP_SEG_TCP IOSIM_SEG_TCP       /* ... an IPv4 TCP segment     */
#define PCAP_SEG_ANSWER IOSIM_SEG_ANSWER /* libslirp's answer           */
typedef struct pcap_join pcap_join_t;
/* Reads the pcap and replays libslirp on it (NULL, err on bad input). */
/* tap: the dump of a tap netdev with its virtio-net header (each frame
 * after 12 header bytes, no libslirp replay, rx frames' lengths kept). */
pcap_join_t *pcap_join_new(const char *path, bool tap, iosim_err_t *err);
void pcap_join_free(pcap_join_t *j);
size_t pcap_join_frames(const pcap_join_t *j);
int64_t pcap_join_offset(const pcap_join_t *j);
/* The clock offset from the n translation times tq (ns, sorted). */
int pcap_join_calibrate(pcap_join_t *j, const uint64_t *tq, size_t n,
                        const char *name, iosim_err_t *err);
/* A guest MAP's first translation at QEMU time t_ns (handle: the MAP's,
 * import_sink_last_handle); frames before it go to the pop before. */
void pcap_join_pop(pcap_join_t *j, uint64_t t_ns, uint64_t handle,
                   import_sink_t *sink, import_counts_t *counts);
/* rx: libslirp's frames to the guest.  QEMU's dump filter writes one
 * (qemu_send_packet -> the netdev's filters) just before
 * virtio_net_receive pops the rx buffer it goes into, whose first
 * translation (a device write) is the pop at QEMU time t_ns: 1 and the
 * frame's time on QEMU's clock (pcap time + the offset) in *frame_t for
 * the oldest frame not yet given out, if it came at most
 * PCAP_JOIN_SLACK_NS after the pop; frames more than PCAP_RX_MAX_NS
 * before the pop are skipped (counted unjoined after the first join).
 * *frame_len: a tap dump's frame length (Ethernet frame, without the vnet
 * header), else 0. */
size_t pcap_join_rx_frames(const pcap_join_t *j);
int pcap_join_rx_pop(pcap_join_t *j, uint64_t t_ns, uint64_t *frame_t,
                     uint32_t *frame_len, import_counts_t *counts);
/* Gives out the last frames; -1 (err, "name: ...") when too many of the
 * frames in the trace's span found no buffer: another run's dump. */
int pcap_join_finish(pcap_join_t *j, import_sink_t *sink,
                     import_counts_t *counts, const char *name,
                     iosim_err_t *err);

extern const import_source_t import_source_ftrace; /* import_ftrace.c */
extern const import_source_t import_source_qemu;   /* import_qemu.c   */
/* import_tracecmd.c: reads trace.dat with libtracecmd; without it (not
 * IOSIM_HAVE_TRACECMD) a stub whose run says so. */
extern const import_source_t import_source_tracecmd;

/* ---------------------------------------------------------------- */
/* ftrace parser (used by both sources)                             */
/* ---------------------------------------------------------------- */
typedef struct ftrace_parser ftrace_parser_t;

/* sink may be NULL (no DID vote, no metadata); in owns the input.  in is
 * NULL for a source that only calls the ftrace_ev_* builders and
 * ftrace_parser_put (then sink is needed). */
ftrace_parser_t *ftrace_parser_new(import_in_t *in, const char *in_name,
                                   const import_opts_t *opts,
                                   import_sink_t *sink, import_counts_t *counts,
                                   iosim_err_t *err);
/* Returns 1 and one record, 0 at end, -1 on error ("IN:LINE: msg"). */
int ftrace_parser_next(ftrace_parser_t *p, iosim_rec_t *out, iosim_err_t *err);
/* A source that makes the records itself (trace-cmd) puts them here, in
 * its input's order (where: the record's place, for ftrace_parser_lineno),
 * and calls ftrace_parser_drain after the last: the parser re-orders each
 * equal-timestamp group as ftrace_parser_next does (the tie rule,
 * import_ftrace.c) and hands the records to the sink.  0 or -1. */
int ftrace_parser_put(ftrace_parser_t *p, const iosim_rec_t *r,
                      unsigned long where, iosim_err_t *err);
int ftrace_parser_drain(ftrace_parser_t *p, iosim_err_t *err);
/* CPUs of the traced machine: "#P:N" of the header, else max cpu + 1. */
uint32_t ftrace_parser_cpus(const ftrace_parser_t *p);
/* The input line of the record ftrace_parser_next returned last (records
 * of one time stamp are read ahead, so the input's own line is past it). */
unsigned long ftrace_parser_lineno(const ftrace_parser_t *p);
void ftrace_parser_free(ftrace_parser_t *p);

/* Parses one event line; exposed for the unit tests.  Returns 1 (record
 * in out), 0 (not a record: header/unknown/ignored), -1 (malformed; a
 * reason without location in why). */
int ftrace_parse_line(ftrace_parser_t *p, const char *line, iosim_rec_t *out,
                      char *why, size_t whylen);

/* Record builders shared by the text parser and the trace-cmd source.
 * An event of interest goes: ftrace_ev_begin(), then the builder of its
 * kind, which fills the rest of the record.  The builders return 1 (a
 * record in r), 0 (no record; counted in the parser's counts) or -1
 * (malformed; a reason without location in why). */
typedef enum ftrace_event {
    FTRACE_EV_MAP,       /* iommu:map                                 */
    FTRACE_EV_UNMAP,     /* iommu:unmap                               */
    FTRACE_EV_QI_SUBMIT, /* intel_iommu:qi_submit                     */
    FTRACE_EV_MARK,      /* a trace_marker write (ftrace:print)       */
    FTRACE_EV_DMA_MAP,   /* dma:dma_map_page, dma:dma_map_phys        */
    FTRACE_EV_DMA_UNMAP, /* dma:dma_unmap_page, dma:dma_unmap_phys    */
} ftrace_event_t;

/* Time t (ns, or raw clock units) and cpu into a cleared out; -1 if the
 * cpu does not fit the record. */
int ftrace_ev_begin(ftrace_parser_t *p, ftrace_event_t ev, uint64_t t,
                    unsigned long cpu, iosim_rec_t *out, char *why,
                    size_t whylen);
/* end = iova + size as the tracepoint prints it (checked). */
int ftrace_ev_map(ftrace_parser_t *p, uint64_t iova, uint64_t end,
                  uint64_t paddr, uint64_t size, iosim_rec_t *r, char *why,
                  size_t n);
int ftrace_ev_unmap(ftrace_parser_t *p, uint64_t iova, uint64_t end,
                    uint64_t size, uint64_t unmapped, iosim_rec_t *r, char *why,
                    size_t n);
int ftrace_ev_qi_submit(ftrace_parser_t *p, uint64_t qw0, uint64_t qw1,
                        iosim_rec_t *r);
/* The written text (len bytes, trailing white space ignored). */
int ftrace_ev_mark(ftrace_parser_t *p, const char *text, size_t len,
                   iosim_rec_t *r);
/* dma_*: true (and counted) when iommu:map/unmap events were seen, which
 * makes this event a duplicate: ask before reading its fields. */
bool ftrace_ev_dma_skip(ftrace_parser_t *p);
/* sid: the device's bus/dev/fn; prot: IOSIM_PROT_* from its direction. */
int ftrace_ev_dma(ftrace_parser_t *p, bool map, uint16_t sid, uint64_t addr,
                  uint64_t size, uint64_t phys, uint8_t prot, iosim_rec_t *r);

/* Decodes one queued-invalidation descriptor (MODEL.md §3.5) into an
 * INVAL record (t and cpu untouched).  Returns 0, or -1 for a descriptor
 * type that is not an invalidation (0, 9..15). */
int import_decode_qi(uint64_t qw0, uint64_t qw1, iosim_rec_t *r);

/* Seconds with a fraction ("6.833234") -> ns with integer arithmetic.
 * A value without '.' is taken as-is (raw clock units).  Returns the
 * number of characters consumed, 0 if none. */
size_t import_parse_time_ns(const char *s, uint64_t *ns);

#endif /* IOSIM_IMPORT_H */
