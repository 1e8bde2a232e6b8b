/* trace_internal.h — shared between trace_io.c and trace_text.c, and the
 * iosim-trace tools that need one thing the public API lacks (writing the
 * text form to an already open stream such as stdout).
 *
 * Concepts:
 *   - The binary form (trace_io.c) and the text form (trace_text.c) share
 *     one reader and one writer object; a `text` flag picks the codec.
 *   - The text codec works line by line on a FILE*; it knows nothing about
 *     zstd.
 * Assumptions:
 *   - A text line of one record never exceeds TRACE_TEXT_LINE_MAX bytes
 *     (the longest possible record, every extra field set, is ~330 chars).
 * Not modeled: nothing (format code only).
 */
#ifndef IOSIM_TRACE_INTERNAL_H
#define IOSIM_TRACE_INTERNAL_H

#include <stdbool.h>
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
int trace_meta_apply(iosim_trace_meta_t *m, const char *key,
                     const char *value, char *why, size_t whylen);
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
    char *line;        /* getline buffer                          */
    size_t line_cap;
    unsigned long lineno;
    uint64_t bytes;    /* bytes consumed (progress)               */
    int pending;       /* 1: `line` holds a record not yet parsed */
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

/* A writer on a stream the caller owns (e.g. stdout): commit flushes it
 * but neither closes nor renames; abort just frees.  `name` is used in
 * error messages.  Only the text form is supported on a stream. */
iosim_trace_writer_t *trace_writer_on_stream(FILE *f, const char *name,
                                             const iosim_trace_meta_t *meta,
                                             iosim_err_t *err);

#endif /* IOSIM_TRACE_INTERNAL_H */
