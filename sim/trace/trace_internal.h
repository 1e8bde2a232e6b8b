/* trace_internal.h — shared between trace_io.c and trace_text.c, and the
 * iosim-trace tools that need one thing the public API lacks (writing the
 * text form to an already open stream such as stdout).
 *
 * Concepts:
 *   - The binary form (trace_io.c) and the text form (trace_text.c) share
 *     one reader and one writer object; a `text` flag picks the codec.
 *   - The text codec works line by line on a FILE*; it knows nothing about
 *     zstd.
 *   - The v2 block codec (trace_v2.c) turns records into a block's column
 *     bytes and back; framing, compression and the index are trace_io.c's.
 * Assumptions:
 *   - A text line of one record never exceeds TRACE_TEXT_LINE_MAX bytes
 *     (the longest possible record, every extra field set, is ~330 chars).
 * Not modeled: nothing (format code only).
 */
#ifndef IOSIM_TRACE_INTERNAL_H
#define IOSIM_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "iosim.h"

#define TRACE_TEXT_LINE_MAX 512
#define TRACE_TEXT_HEADER "# iosim-trace text v1"

/* Metadata keys, in the order the writers emit them (FORMAT.md §3). */
#define TRACE_META_NKEYS 8
extern const char *const trace_meta_keys[TRACE_META_NKEYS];

/* Writes "<key>=<value>" of meta key number i (0 .. trace_meta_nkeys()-1:
 * the fixed keys, then the ref.* keys) into buf. */
int trace_meta_format(const iosim_trace_meta_t *m, unsigned i, char *buf,
                      size_t n);
unsigned trace_meta_nkeys(const iosim_trace_meta_t *m);
/* Applies one "key=value" (without newline); unknown keys are ignored.
 * Returns 0, or -1 with a reason (no location) in why. */
int trace_meta_apply(iosim_trace_meta_t *m, const char *key, const char *value,
                     char *why, size_t whylen);
/* Checks that no string field holds a newline (it would break both
 * forms).  Returns 0 or -1 with a reason. */
int trace_meta_check(const iosim_trace_meta_t *m, char *why, size_t whylen);

/* PCI name "[dddd:]bb:dd.f" (hex; the segment is dropped) filling exactly
 * [s, s+len) -> source-id bus<<8 | dev<<3 | fn (VT-d §3.4.1).  Returns 0,
 * or -1 (nothing stored) if the text is anything else.  The one parser of
 * device names: trace text form, gen --device, import --device, ftrace. */
int trace_parse_bdf(const char *s, size_t len, uint16_t *sid);

/* Text writer on an open stream: header line and "#meta" lines. */
int trace_text_write_header(FILE *f, const iosim_trace_meta_t *m);

/* Text reader state (owned by the reader object in trace_io.c). */
typedef struct trace_text_in {
    FILE *f;
    const char *path;
    char *line; /* getline buffer                          */
    size_t line_cap;
    unsigned long lineno;
    uint64_t bytes; /* bytes consumed (progress)               */
    int pending;    /* 1: `line` holds a record not yet parsed */
    /* line (from 1) of every record read so far, for messages about a
     * record found later (replay errors): 4 bytes per record, and text
     * traces are the small hand-made ones */
    uint32_t *rec_line;
    size_t nrec, rec_cap;
} trace_text_in_t;

/* Reads the header line and the "#meta" lines; stops at the first record
 * line (kept as pending).  Returns 0 or -1 ("path:LINE: msg"). */
int trace_text_open(trace_text_in_t *t, iosim_trace_meta_t *meta,
                    iosim_err_t *err);
/* Stores up to max records; *good says how many.  Returns 1 (more may
 * follow), 0 (end of trace reached) or -1 (error; the *good records
 * before it are valid). */
long trace_text_read(trace_text_in_t *t, iosim_rec_t *out, size_t max,
                     size_t *good, iosim_err_t *err);
/* Line (from 1) of record `no` (from 0) of the records read so far; 0 if
 * there is no such record or the line number did not fit. */
uint64_t trace_text_record_line(const trace_text_in_t *t, uint64_t no);
void trace_text_close(trace_text_in_t *t);

/* A zstd error code that is a failed allocation (zstd's
 * ZSTD_error_memory_allocation), and the reason to print for any code:
 * "out of memory" for that one (not a corrupt stream), else zstd's
 * name for it. */
bool trace_zstd_oom(size_t code);
const char *trace_zstd_why(size_t code);

/* A reader on a stream opened by the caller (e.g. fmemopen: the fuzz
 * targets), which the reader takes over: iosim_trace_close closes it, as
 * does a failed open.  `name` is used in messages; `size` is the
 * stream's length for iosim_trace_progress (0: unknown).  The stream
 * must be seekable when it holds a text trace. */
iosim_trace_reader_t *trace_open_stream(FILE *f, const char *name,
                                        uint64_t size, iosim_err_t *err);

/* A writer on a stream the caller owns (e.g. stdout): commit flushes it
 * but neither closes nor renames; abort just frees.  `name` is used in
 * error messages.  Only the text form is supported on a stream. */
iosim_trace_writer_t *trace_writer_on_stream(FILE *f, const char *name,
                                             const iosim_trace_meta_t *meta,
                                             iosim_err_t *err);

/* ---- Format v2 (traces/FORMAT.md §8) --------------------------------- */
/* The file is a sequence of zstd frames: a skippable header frame, per
 * block a skippable block header and one zstd frame (the block's columns,
 * with content size and checksum), and a skippable index frame whose last
 * 16 bytes are the footer.  Skippable frames (RFC 8878 §3.1.2) keep the
 * file readable by `zstd -dc`, which outputs the block payloads. */
#define TRACE_V2_MAGIC_HEADER 0x184D2A50u /* skippable-frame magics */
#define TRACE_V2_MAGIC_BLOCK 0x184D2A51u
#define TRACE_V2_MAGIC_INDEX 0x184D2A52u
#define TRACE_V2_HEADER_FIXED 16u /* "IOSIMTRC", version, meta_len */
#define TRACE_V2_BLOCK_HDR 8u     /* nrec, frame length           */
#define TRACE_V2_INDEX_ENTRY 16u  /* offset, frame length, nrec   */
#define TRACE_V2_FOOTER 16u       /* records, blocks, "IXV2"      */
#define TRACE_V2_FOOTER_MAGIC "IXV2"
#define TRACE_V2_BLOCK_RECS 65536u         /* records per block (writers)  */
#define TRACE_V2_BLOCK_RECS_MAX (1u << 18) /* readers refuse more      */
#define TRACE_V2_PAYLOAD_HEADER 20u
/* a record is a kind and a mask byte and at most 13 varints of at most 10
 * bytes (t, iova, size, aux, pasid, device, domain, cpu, flags, desc,
 * gran, am, reserved): a bound on the payload a reader allocates */
#define TRACE_V2_PAYLOAD_MAX                                                   \
    (TRACE_V2_PAYLOAD_HEADER + 132u * (size_t)TRACE_V2_BLOCK_RECS_MAX)

enum {
    TRACE_V2_COL_KIND, /* column order in the payload */
    TRACE_V2_COL_MASK,
    TRACE_V2_COL_T,
    TRACE_V2_COL_IOVA,
    TRACE_V2_COL_SIZE,
    TRACE_V2_COL_EXTRA,
    TRACE_V2_NCOLS
};

typedef struct trace_v2_col {
    uint8_t *buf;
    size_t len, cap;
} trace_v2_col_t;

/* One line of the index: where a block is and what it holds. */
typedef struct trace_v2_entry {
    uint64_t offset;    /* file offset of the block's skippable header */
    uint32_t frame_len; /* bytes of its zstd frame                     */
    uint32_t nrec;      /* records in it                               */
} trace_v2_entry_t;

/* One block being encoded (trace_v2.c). */
typedef struct trace_v2_enc {
    trace_v2_col_t col[TRACE_V2_NCOLS];
    uint32_t nrec;
    uint64_t prev_t;
    iosim_rec_t prev[IOSIM_REC_KIND_MAX + 1]; /* last record of each kind */
} trace_v2_enc_t;

/* Appends one record (kind already checked: 1..5).  -1: out of memory. */
int trace_v2_enc_add(trace_v2_enc_t *e, const iosim_rec_t *r);
size_t trace_v2_enc_size(const trace_v2_enc_t *e); /* payload bytes */
void trace_v2_enc_finish(const trace_v2_enc_t *e, uint8_t *dst);
void trace_v2_enc_reset(trace_v2_enc_t *e); /* next block */
void trace_v2_enc_free(trace_v2_enc_t *e);

/* One block being decoded: cursors into the caller's payload buffer. */
typedef struct trace_v2_dec {
    const uint8_t *kind, *mask;
    const uint8_t *t, *t_end, *iova, *iova_end, *size, *size_end;
    const uint8_t *extra, *extra_end;
    uint32_t nrec, done;
    uint64_t prev_t;
    iosim_rec_t prev[IOSIM_REC_KIND_MAX + 1];
} trace_v2_dec_t;

/* Checks the payload's layout.  0, or -1 with a reason in why. */
int trace_v2_dec_begin(trace_v2_dec_t *d, const uint8_t *payload, size_t len,
                       char *why, size_t whylen);
/* Decodes up to max of the block's remaining records into out; *good says
 * how many.  0, or -1 with a reason about record d->done of the block
 * (the *good records before it are valid). */
long trace_v2_dec_read(trace_v2_dec_t *d, iosim_rec_t *out, size_t max,
                       size_t *good, char *why, size_t whylen);

/* A binary writer of the given format version (1 or 2; iosim_trace_create
 * writes TRACE_VERSION_CURRENT).  iosim-trace convert --format v1 uses 1. */
#define TRACE_VERSION_CURRENT 2u
iosim_trace_writer_t *trace_create_version(const char *path,
                                           const iosim_trace_meta_t *meta,
                                           unsigned version, iosim_err_t *err);
/* Format version of an open binary trace (1 or 2), 0 for the text form. */
unsigned trace_reader_version(const iosim_trace_reader_t *r);

#endif /* IOSIM_TRACE_INTERNAL_H */
