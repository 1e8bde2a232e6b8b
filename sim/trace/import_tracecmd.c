/* import_tracecmd.c — trace-cmd's binary trace.dat -> iosim records, read
 * through libtracecmd and libtraceevent (`iosim-trace import trace-cmd`).
 *
 * Concepts:
 *   - tracecmd_open_fd() reads the file's headers (event formats, kallsyms,
 *     CPU count); tracecmd_iterate_events() then hands over one record at a
 *     time, merged across CPUs in time-stamp order as `trace-cmd report`
 *     prints them.  Nothing here holds more than one record; libtracecmd
 *     maps an uncompressed file's CPU data (file pages, read on demand and
 *     reclaimable: measured 7 MB anonymous memory for 208k records) but
 *     decompresses a compressed (zstd, version 7) file chunk by chunk into
 *     memory, and libtracecmd 1.3.1 (Debian 12) never frees those chunks
 *     before the file is closed (free_zpage's range test is inverted;
 *     fixed upstream by trace-cmd 5274db32): such a file costs its
 *     uncompressed size in memory.  Large captures: record with
 *     --compression none, or `trace-cmd convert --compression none`.
 *   - The events converted are those of import_ftrace.c, matched by event
 *     name as the text parser matches them (map, unmap, qi_submit, print,
 *     dma_map_page ...).  Their fields are read from the binary record
 *     (tep_read_number_field; strings and arrays by their offset) and
 *     handed to the same ftrace_ev_* builders, so one capture gives the
 *     same records, metadata and counts as `iosim-trace import ftrace` on
 *     its text (`trace-cmd report -t`, or the kernel's `trace` file but
 *     for its microsecond time stamps).  meta.source is "ftrace": the
 *     records come from the same kernel ring buffer.
 *   - Ties: the records go through the text parser's tie rule
 *     (ftrace_parser_put / ftrace_parser_drain, import_ftrace.c): an
 *     equal-timestamp group of several CPUs, which libtracecmd's merge
 *     lists CPU by CPU as the trace file does, is re-ordered by the same
 *     code, so the same capture gives the same order in both forms.
 *   - Marks: ftrace:print records whose ip resolves (kallsyms saved in
 *     trace.dat) to tracing_mark_write, the writes to trace_marker; their
 *     text ends at the first newline, as the text line does.  Other print
 *     callers are unknown events, as in the text.
 *   - A record after lost events (missed_events, report's "[LOST N
 *     EVENTS]") sets counts->overrun; counts->lines counts records.
 *   - Errors name the file and the record: "F: record N (cpu C, t S.NS s)".
 * Assumptions:
 *   - The top-level buffer only (instances in the file are ignored).
 *   - Time stamps as libtracecmd gives them (ns for the global, local,
 *     mono and perf clocks, with the file's recorded offsets applied, as
 *     report prints them).
 *   - A truncated file is caught when libtracecmd opens it (every CPU's
 *     data must lie inside the file); it prints the reason on stdout, so
 *     stdout and stderr are captured while the file is opened and the
 *     reason becomes part of the one error message.
 * Not modeled: files from a guest-host session merged (only this file's
 *   own records); without libtracecmd (IOSIM_HAVE_TRACECMD undefined) the
 *   source only says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "trace/import.h"
#include "trace/trace_internal.h"

// clang-format off
#define TRACECMD_SUMMARY                                                       \
    "trace-cmd's binary trace.dat (trace-cmd record/extract): the ftrace "     \
    "events, read with libtracecmd"
// clang-format on

#ifndef IOSIM_HAVE_TRACECMD

static int tracecmd_run(FILE *in, const char *in_name, import_sink_t *sink,
                        const import_opts_t *opts, import_counts_t *counts,
                        iosim_err_t *err)
{
    return iosim_err_set(err,
                         "%s: iosim was built without libtracecmd (install "
                         "libtracecmd-dev libtraceevent-dev libtracefs-dev "
                         "and rebuild), or give `trace-cmd report -t` text "
                         "to import ftrace",
                         in_name);
}

#else /* IOSIM_HAVE_TRACECMD */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <trace-cmd.h>

/* The first bytes of every trace.dat: 0x17 0x08 'D' "tracing". */
static const char tc_magic[10] = {0x17, 0x08, 0x44, 't', 'r',
                                  'a',  'c',  'i',  'n', 'g'};

#define TC_FIELDS_MAX 5

/* What one event type id of the file is to us (resolved once). */
typedef struct tc_type {
    enum { TC_UNSEEN, TC_OTHER, TC_KNOWN } state;
    ftrace_event_t kind;
    struct tep_event *ev;
    bool fields_found;
    struct tep_format_field *f[TC_FIELDS_MAX];
} tc_type_t;

/* The fields each kind reads, in the order of tc_type_t.f; an entry
 * "a|b" takes the first of the names the format has. */
static const char *const tc_fields[][TC_FIELDS_MAX] = {
    [FTRACE_EV_MAP] = {"iova", "paddr", "size"},
    [FTRACE_EV_UNMAP] = {"iova", "size", "unmapped_size"},
    [FTRACE_EV_QI_SUBMIT] = {"qw0", "qw1"},
    [FTRACE_EV_MARK] = {"ip", "buf"},
    [FTRACE_EV_DMA_MAP] = {"device", "dir", "dma_addr|addr", "size",
                           "phys_addr"},
    [FTRACE_EV_DMA_UNMAP] = {"device", "dir", "addr|dma_addr", "size"},
};

typedef struct tc_ctx {
    const char *name;
    struct tep_handle *tep;
    ftrace_parser_t *p;
    import_counts_t *counts;
    tc_type_t *types; /* indexed by event type id */
    size_t ntypes;
    uint64_t nrec; /* 1-based number of the record being converted */
    iosim_err_t *err;
    int rc;
} tc_ctx_t;

/* Event name -> kind, as ftrace_parse_line() classifies event names;
 * -1 for the others. */
static int tc_kind_of(const char *name)
{
    static const struct {
        const char *name;
        ftrace_event_t kind;
    } names[] = {
        {"map", FTRACE_EV_MAP},
        {"unmap", FTRACE_EV_UNMAP},
        {"qi_submit", FTRACE_EV_QI_SUBMIT},
        {"print", FTRACE_EV_MARK},
        {"dma_map_page", FTRACE_EV_DMA_MAP},
        {"dma_map_phys", FTRACE_EV_DMA_MAP},
        {"dma_unmap_page", FTRACE_EV_DMA_UNMAP},
        {"dma_unmap_phys", FTRACE_EV_DMA_UNMAP},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name))
            return (int)names[i].kind;
    return -1;
}

static int tc_fail(tc_ctx_t *c, const struct tep_record *rec, const char *why)
{
    iosim_err_set(c->err, "%s: record %llu (cpu %d, t %llu.%09llu s): %s",
                  c->name, (unsigned long long)c->nrec, rec->cpu,
                  (unsigned long long)(rec->ts / 1000000000u),
                  (unsigned long long)(rec->ts % 1000000000u), why);
    c->rc = -1;
    return -1;
}

/* The type of event id (common_type, 16 bits); NULL when out of memory. */
static tc_type_t *tc_type(tc_ctx_t *c, int id)
{
    if ((size_t)id >= c->ntypes) {
        size_t n = c->ntypes;
        if (vec_reserve(&c->types, &n, (size_t)id + 1, 256))
            return NULL;
        memset(c->types + c->ntypes, 0, (n - c->ntypes) * sizeof *c->types);
        c->ntypes = n;
    }
    tc_type_t *t = &c->types[id];
    if (t->state == TC_UNSEEN) {
        t->ev = tep_find_event(c->tep, id);
        int kind = t->ev ? tc_kind_of(t->ev->name) : -1;
        t->state = kind < 0 ? TC_OTHER : TC_KNOWN;
        t->kind = kind < 0 ? FTRACE_EV_MAP : (ftrace_event_t)kind;
    }
    return t;
}

/* The fields of a known type, found in its format on first use. */
static int tc_find_fields(tc_ctx_t *c, tc_type_t *t,
                          const struct tep_record *rec)
{
    if (t->fields_found)
        return 0;
    for (int i = 0; i < TC_FIELDS_MAX && tc_fields[t->kind][i]; i++) {
        const char *names = tc_fields[t->kind][i];
        char one[32];
        for (const char *s = names; *s && !t->f[i];) {
            size_t len = strcspn(s, "|");
            snprintf(one, sizeof one, "%.*s", (int)len, s);
            t->f[i] = tep_find_field(t->ev, one);
            s += len + (s[len] == '|');
        }
        if (!t->f[i]) {
            char why[160];
            snprintf(why, sizeof why,
                     "%s:%s: no field '%s' in the event's format",
                     t->ev->system, t->ev->name, names);
            return tc_fail(c, rec, why);
        }
    }
    t->fields_found = true;
    return 0;
}

static int tc_number(tc_ctx_t *c, const struct tep_record *rec,
                     const tc_type_t *t, int i, uint64_t *v)
{
    unsigned long long val;
    const struct tep_format_field *f = t->f[i];
    if ((f->flags & TEP_FIELD_IS_DYNAMIC) ||
        (unsigned)f->offset + (unsigned)f->size > (unsigned)rec->size ||
        tep_read_number_field((struct tep_format_field *)f, rec->data, &val) <
            0) {
        char why[160];
        snprintf(why, sizeof why,
                 "%s: field '%s' is not a number inside "
                 "the record",
                 t->ev->name, f->name);
        return tc_fail(c, rec, why);
    }
    *v = val;
    return 0;
}

/* The bytes of a string or array field: a dynamic one (__data_loc: 16-bit
 * offset, 16-bit length; relative to the field's end if RELATIVE), a
 * fixed one, or a trailing flexible array (size 0: to the record's end).
 * The text ends at a NUL. */
static int tc_text(tc_ctx_t *c, const struct tep_record *rec,
                   const tc_type_t *t, int i, const char **s, size_t *len)
{
    const struct tep_format_field *f = t->f[i];
    const unsigned char *data = rec->data;
    size_t size = rec->size > 0 ? (size_t)rec->size : 0;
    size_t off, n;
    if (f->flags & TEP_FIELD_IS_DYNAMIC) {
        if ((size_t)f->offset + 4 > size)
            goto bad;
        uint32_t loc = (uint32_t)tep_read_number(c->tep, data + f->offset, 4);
        off = loc & 0xffff;
        n = loc >> 16;
        if (f->flags & TEP_FIELD_IS_RELATIVE)
            off += (size_t)f->offset + (size_t)f->size;
    } else {
        off = (size_t)f->offset;
        n = f->size > 0 ? (size_t)f->size : (off <= size ? size - off : 0);
    }
    if (off > size || n > size - off)
        goto bad;
    *s = (const char *)data + off;
    *len = strnlen(*s, n);
    return 0;
bad:;
    char why[160];
    snprintf(why, sizeof why, "%s: field '%s' lies outside the record",
             t->ev->name, f->name);
    return tc_fail(c, rec, why);
}

/* Fields -> ftrace_ev_* builder.  Returns 1, 0 or -1 as they do (-1 with
 * c->rc set: the message is already in c->err). */
static int tc_convert(tc_ctx_t *c, const struct tep_record *rec, tc_type_t *t,
                      iosim_rec_t *r, char *why, size_t n)
{
    uint64_t v[TC_FIELDS_MAX];
    const char *s;
    size_t len;
    switch (t->kind) {
    case FTRACE_EV_MAP:
        if (tc_find_fields(c, t, rec) < 0 || tc_number(c, rec, t, 0, &v[0]) ||
            tc_number(c, rec, t, 1, &v[1]) || tc_number(c, rec, t, 2, &v[2]))
            return -1;
        /* the tracepoint prints iova + size as the end */
        return ftrace_ev_map(c->p, v[0], v[0] + v[2], v[1], v[2], r, why, n);
    case FTRACE_EV_UNMAP:
        if (tc_find_fields(c, t, rec) < 0 || tc_number(c, rec, t, 0, &v[0]) ||
            tc_number(c, rec, t, 1, &v[1]) || tc_number(c, rec, t, 2, &v[2]))
            return -1;
        return ftrace_ev_unmap(c->p, v[0], v[0] + v[1], v[1], v[2], r, why, n);
    case FTRACE_EV_QI_SUBMIT:
        if (tc_find_fields(c, t, rec) < 0 || tc_number(c, rec, t, 0, &v[0]) ||
            tc_number(c, rec, t, 1, &v[1]))
            return -1;
        return ftrace_ev_qi_submit(c->p, v[0], v[1], r);
    case FTRACE_EV_MARK: {
        if (tc_find_fields(c, t, rec) < 0 || tc_number(c, rec, t, 0, &v[0]) ||
            tc_text(c, rec, t, 1, &s, &len))
            return -1;
        /* A file without kallsyms names no caller: its print events can
         * only be taken for marks (report would print the address). */
        const char *fn = tep_find_function(c->tep, v[0]);
        if (fn && strcmp(fn, "tracing_mark_write") != 0) {
            c->counts->unknown_events++;
            return 0;
        }
        const char *nl = memchr(s, '\n', len);
        return ftrace_ev_mark(c->p, s, nl ? (size_t)(nl - s) : len, r);
    }
    case FTRACE_EV_DMA_MAP:
    case FTRACE_EV_DMA_UNMAP: {
        bool map = t->kind == FTRACE_EV_DMA_MAP;
        if (ftrace_ev_dma_skip(c->p))
            return 0;
        if (tc_find_fields(c, t, rec) < 0 || tc_text(c, rec, t, 0, &s, &len) ||
            tc_number(c, rec, t, 1, &v[1]) || tc_number(c, rec, t, 2, &v[2]) ||
            tc_number(c, rec, t, 3, &v[3]) ||
            (map && tc_number(c, rec, t, 4, &v[4])))
            return -1;
        uint16_t sid;
        if (trace_parse_bdf(s, len, &sid) < 0) {
            snprintf(why, n, "%s: device '%.*s' is not a PCI name", t->ev->name,
                     (int)(len < 64 ? len : 64), s);
            return -1;
        }
        /* enum dma_data_direction: 0 BIDIRECTIONAL, 1 TO_DEVICE (the
         * device reads memory), 2 FROM_DEVICE, 3 NONE */
        uint8_t prot = v[1] == 1   ? IOSIM_PROT_READ
                       : v[1] == 2 ? IOSIM_PROT_WRITE
                                   : IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        return ftrace_ev_dma(c->p, map, sid, v[2], v[3], map ? v[4] : 0, prot,
                             r);
    }
    }
    return 0;
}

static int tc_record(struct tracecmd_input *h, struct tep_record *rec, int cpu,
                     void *arg)
{
    tc_ctx_t *c = arg;
    c->nrec++;
    c->counts->lines++;
    if (rec->missed_events)
        c->counts->overrun = true;
    int id = tep_data_type(c->tep, rec);
    tc_type_t *t = id >= 0 && id <= 0xffff ? tc_type(c, id) : NULL;
    if (!t && id >= 0 && id <= 0xffff)
        return tc_fail(c, rec, "out of memory");
    if (!t || t->state != TC_KNOWN) {
        c->counts->unknown_events++;
        return 0;
    }
    iosim_rec_t r;
    char why[256] = "";
    if (ftrace_ev_begin(c->p, t->kind, rec->ts, (unsigned long)rec->cpu, &r,
                        why, sizeof why) < 0)
        return tc_fail(c, rec, why);
    int got = tc_convert(c, rec, t, &r, why, sizeof why);
    if (got < 0)
        return c->rc < 0 ? -1 : tc_fail(c, rec, why);
    if (got == 0)
        return 0;
    if (ftrace_parser_put(c->p, &r, (unsigned long)c->nrec, c->err) < 0) {
        c->rc = -1;
        return -1;
    }
    return 0;
}

/* Checks the magic (a clear message for text, zstd or short files). */
static int tc_check_magic(int fd, const char *name, iosim_err_t *err)
{
    unsigned char buf[10];
    ssize_t got = pread(fd, buf, sizeof buf, 0);
    if (got < 0)
        return iosim_err_set(err, "%s: read error: %s", name, strerror(errno));
    if (got == (ssize_t)sizeof buf && !memcmp(buf, tc_magic, sizeof buf))
        return 0;
    if (got >= 4 && buf[0] == 0x28 && buf[1] == 0xb5 && buf[2] == 0x2f &&
        buf[3] == 0xfd)
        return iosim_err_set(err,
                             "%s: zstd-compressed: decompress it (zstd -d) "
                             "or record with trace-cmd --compression zstd",
                             name);
    if (got < (ssize_t)sizeof buf && !memcmp(buf, tc_magic, (size_t)got))
        return iosim_err_set(err,
                             "%s: truncated (%zd bytes, inside the "
                             "trace.dat magic)",
                             name, got);
    return iosim_err_set(err,
                         "%s: not a trace-cmd file (no trace.dat "
                         "magic; text goes to import ftrace)",
                         name);
}

/* ---------------------------------------------------------------- */
/* Truncation check (before libtracecmd)                            */
/* ---------------------------------------------------------------- */
/* libtracecmd 1.3 (trace-cmd 3.1.6) notices a version 6 file whose CPU
 * data runs past its end, then crashes freeing the half-built handle; so
 * the sizes are walked here first, in the order trace-cmd writes them:
 * magic, version, endianness, long size, page size, header_page,
 * header_event, ftrace formats, event formats by system, kallsyms, printk
 * formats, saved cmdlines, CPU count, options, "flyrecord" and the offset
 * and size of each CPU's data.  A version 7 file (sections, possibly
 * compressed) ends with the option section that locates the CPU data and
 * a string section: the section sizes are followed to the end of the
 * file, so a file cut anywhere is reported as cut. */
typedef struct tc_scan {
    int fd;
    const char *name;
    uint64_t size; /* file size */
    uint64_t pos;
    bool big; /* big-endian file */
    iosim_err_t *err;
} tc_scan_t;

static int scan_bytes(tc_scan_t *s, void *buf, uint64_t n, const char *what)
{
    if (s->pos > s->size || n > s->size - s->pos)
        return iosim_err_set(s->err,
                             "%s: truncated or damaged: the file (%llu "
                             "bytes) ends inside %s",
                             s->name, (unsigned long long)s->size, what);
    if (buf && pread(s->fd, buf, (size_t)n, (off_t)s->pos) != (ssize_t)n)
        return iosim_err_set(s->err, "%s: read error: %s", s->name,
                             strerror(errno));
    s->pos += n;
    return 0;
}

static int scan_num(tc_scan_t *s, unsigned n, uint64_t *v, const char *what)
{
    unsigned char b[8];
    if (scan_bytes(s, b, n, what) < 0)
        return -1;
    *v = 0;
    for (unsigned i = 0; i < n; i++)
        *v |= (uint64_t)b[s->big ? n - 1 - i : i] << (8 * i);
    return 0;
}

/* A block preceded by its n-byte size. */
static int scan_sized(tc_scan_t *s, unsigned n, const char *what)
{
    uint64_t size;
    return scan_num(s, n, &size, what) < 0 ? -1
                                           : scan_bytes(s, NULL, size, what);
}

/* A NUL-terminated string of at most 255 bytes into buf[256]. */
static int scan_string(tc_scan_t *s, char *buf, const char *what)
{
    for (size_t i = 0; i < 256; i++) {
        if (scan_bytes(s, &buf[i], 1, what) < 0)
            return -1;
        if (!buf[i])
            return 0;
    }
    return iosim_err_set(s->err, "%s: damaged: no end to the string of %s",
                         s->name, what);
}

/* Version 7: long size, page size, compression name and version, the
 * offset of the first option section; then sections back to back to the
 * end of the file (libtracecmd looks for its string sections that way),
 * each a header (id, flags, description, size: 2, 2, 4, 8 bytes) and
 * size bytes. */
static int tc_check_v7(tc_scan_t *s)
{
    char str[256];
    uint64_t size;
    if (scan_bytes(s, NULL, 1 + 4, "the header") < 0 ||
        scan_string(s, str, "the header") < 0 ||
        scan_string(s, str, "the header") < 0 ||
        scan_bytes(s, NULL, 8, "the header") < 0)
        return -1;
    while (s->pos < s->size)
        if (scan_bytes(s, NULL, 8, "a section header") < 0 ||
            scan_num(s, 8, &size, "a section header") < 0 ||
            scan_bytes(s, NULL, size, "its last section") < 0)
            return -1;
    return 0;
}

static int tc_check_layout(int fd, const char *name, iosim_err_t *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return iosim_err_set(err, "%s: %s", name, strerror(errno));
    tc_scan_t s = {fd, name, (uint64_t)st.st_size, sizeof tc_magic, false, err};
    char str[256], tag[13];
    uint64_t v, n, cpus;
    if (scan_string(&s, str, "the version") < 0)
        return -1;
    unsigned long version = strtoul(str, NULL, 10);
    if (scan_bytes(&s, tag, 1, "the header") < 0)
        return -1;
    s.big = tag[0] != 0;
    if (version >= 7)
        return tc_check_v7(&s);
    if (scan_bytes(&s, NULL, 1 + 4, "the header") < 0 || /* long, page size */
        scan_bytes(&s, tag, 12, "header_page") < 0)
        return -1;
    if (memcmp(tag, "header_page", 12) != 0)
        return 0; /* not what trace-cmd writes: libtracecmd decides */
    if (scan_sized(&s, 8, "header_page") < 0 ||
        scan_bytes(&s, tag, 13, "header_event") < 0)
        return -1;
    if (memcmp(tag, "header_event", 13) != 0)
        return 0;
    if (scan_sized(&s, 8, "header_event") < 0)
        return -1;
    if (scan_num(&s, 4, &n, "the ftrace formats") < 0)
        return -1;
    for (uint64_t i = 0; i < n; i++)
        if (scan_sized(&s, 8, "the ftrace formats") < 0)
            return -1;
    uint64_t systems;
    if (scan_num(&s, 4, &systems, "the event formats") < 0)
        return -1;
    for (uint64_t i = 0; i < systems; i++) {
        if (scan_string(&s, str, "the event formats") < 0 ||
            scan_num(&s, 4, &n, "the event formats") < 0)
            return -1;
        for (uint64_t j = 0; j < n; j++)
            if (scan_sized(&s, 8, "the event formats") < 0)
                return -1;
    }
    if (scan_sized(&s, 4, "kallsyms") < 0 ||
        scan_sized(&s, 4, "the printk formats") < 0 ||
        scan_sized(&s, 8, "the saved cmdlines") < 0 ||
        scan_num(&s, 4, &cpus, "the CPU count") < 0 ||
        scan_bytes(&s, tag, 10, "the options") < 0)
        return -1;
    if (!strncmp(tag, "options", 7)) {
        for (;;) {
            uint64_t id;
            if (scan_num(&s, 2, &id, "the options") < 0)
                return -1;
            if (id == 0) /* TRACECMD_OPTION_DONE */
                break;
            if (scan_num(&s, 4, &n, "the options") < 0)
                return -1;
            if (id == 8 && n == 4) { /* TRACECMD_OPTION_CPUCOUNT */
                if (scan_num(&s, 4, &cpus, "the options") < 0)
                    return -1;
            } else if (scan_bytes(&s, NULL, n, "the options") < 0) {
                return -1;
            }
        }
        if (scan_bytes(&s, tag, 10, "the data header") < 0)
            return -1;
    }
    if (strncmp(tag, "flyrecord", 9) != 0)
        return 0; /* a latency trace: libtracecmd decides */
    for (uint64_t cpu = 0; cpu < cpus; cpu++) {
        if (scan_num(&s, 8, &v, "the CPU data offsets") < 0 ||
            scan_num(&s, 8, &n, "the CPU data offsets") < 0)
            return -1;
        if (n && (v > s.size || n > s.size - v))
            return iosim_err_set(err,
                                 "%s: truncated: CPU %llu's data ends at "
                                 "byte %llu, the file has %llu",
                                 name, (unsigned long long)cpu,
                                 (unsigned long long)(v + n),
                                 (unsigned long long)s.size);
    }
    return 0;
}

/* tracecmd_open_fd() with its stdout/stderr chatter kept in a temporary
 * file; on failure the first line of it is the reason. */
static struct tracecmd_input *tc_open(int fd, const char *name,
                                      iosim_err_t *err)
{
    FILE *cap = tmpfile();
    int saved_out = -1, saved_err = -1;
    fflush(stdout);
    fflush(stderr);
    if (cap) {
        saved_out = dup(STDOUT_FILENO);
        saved_err = dup(STDERR_FILENO);
        if (saved_out >= 0 && saved_err >= 0) {
            dup2(fileno(cap), STDOUT_FILENO);
            dup2(fileno(cap), STDERR_FILENO);
        }
    }
    tracecmd_set_loglevel(TEP_LOG_ERROR);
    tep_set_loglevel(TEP_LOG_NONE);
    int own = dup(fd);
    struct tracecmd_input *h = NULL;
    if (own >= 0) {
        h = tracecmd_open_fd(own, TRACECMD_FL_LOAD_NO_PLUGINS);
        /* libtracecmd closes the fd unless it failed before reading
         * the headers */
        if (!h && fcntl(own, F_GETFD) >= 0)
            close(own);
    }
    tracecmd_set_loglevel(TEP_LOG_NONE);
    fflush(stdout);
    fflush(stderr);
    if (saved_out >= 0 && saved_err >= 0) {
        dup2(saved_out, STDOUT_FILENO);
        dup2(saved_err, STDERR_FILENO);
    }
    if (saved_out >= 0)
        close(saved_out);
    if (saved_err >= 0)
        close(saved_err);
    if (!h) {
        char why[200] = "";
        if (cap) {
            rewind(cap);
            /* the first line that is not blank nor a sanitizer
             * runtime's ("==PID==WARNING: AddressSanitizer failed to
             * allocate ..." for a size libtracecmd read from damaged
             * data, where a release build's malloc just fails) */
            while (fgets(why, sizeof why, cap) &&
                   (strspn(why, " \t\r\n") == strlen(why) ||
                    !strncmp(why, "==", 2)))
                why[0] = '\0';
            why[strcspn(why, "\r\n")] = '\0';
        }
        if (own < 0)
            iosim_err_set(err, "%s: %s", name, strerror(errno));
        else
            iosim_err_set(err, "%s: libtracecmd cannot read it (%s)", name,
                          why[0] ? why : "truncated or damaged headers");
    }
    if (cap)
        fclose(cap);
    return h;
}

static int tracecmd_run(FILE *in, const char *in_name, import_sink_t *sink,
                        const import_opts_t *opts, import_counts_t *counts,
                        iosim_err_t *err)
{
    int fd = fileno(in);
    if (lseek(fd, 0, SEEK_CUR) < 0)
        return iosim_err_set(err,
                             "%s: a trace.dat must be a file (it is "
                             "read with seeks), not a pipe",
                             in_name);
    if (tc_check_magic(fd, in_name, err) < 0 ||
        tc_check_layout(fd, in_name, err) < 0)
        return -1;
    struct tracecmd_input *h = tc_open(fd, in_name, err);
    if (!h)
        return -1;
    tc_ctx_t c = {0};
    c.name = in_name;
    c.tep = tracecmd_get_tep(h);
    c.counts = counts;
    c.err = err;
    c.p = ftrace_parser_new(NULL, in_name, opts, sink, counts, err);
    if (!c.p) {
        tracecmd_close(h);
        return -1;
    }
    iosim_trace_meta_t *m = import_sink_meta(sink);
    snprintf(m->source, sizeof m->source, "ftrace");
    m->has_dma = 0;
    int cpus = tep_get_cpus(c.tep);
    if (cpus > 0 && cpus <= 256 && m->cpus < (uint32_t)cpus)
        m->cpus = (uint32_t)cpus;
    if (tracecmd_iterate_events(h, NULL, 0, tc_record, &c) < 0 && c.rc == 0)
        c.rc =
            iosim_err_set(err,
                          "%s: libtracecmd stopped after record "
                          "%llu: %s",
                          in_name, (unsigned long long)c.nrec, strerror(errno));
    if (c.rc == 0)
        c.rc = ftrace_parser_drain(c.p, err);
    ftrace_parser_free(c.p);
    free(c.types);
    tracecmd_close(h);
    return c.rc;
}

#endif /* IOSIM_HAVE_TRACECMD */

const import_source_t import_source_tracecmd = {
    .name = "trace-cmd",
    .summary = TRACECMD_SUMMARY,
    .input = "TRACE_DAT",
    .run = tracecmd_run,
    .implies_none = IMPORT_IMPLIES_NONE,
};
