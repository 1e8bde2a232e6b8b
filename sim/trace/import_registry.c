/* import_registry.c — the table of import sources and the plumbing they
 * share: a streaming plain/zstd line reader and the output sink.
 *
 * Concepts:
 *   - import_sources[] is the registry (NULL-terminated); import_find()
 *     looks a source up by name.
 *   - import_in_t reads text line by line from a FILE*, decompressing a
 *     zstd stream on the fly (ZSTD_DStream, fixed buffers): memory does
 *     not depend on the file size.
 *   - import_sink_t: domain vote, --window filter, lazy writer creation
 *     (see import.h).
 * Assumptions:
 *   - A zstd input starts with the frame magic 0xFD2FB528 (little-endian
 *     bytes 28 b5 2f fd, RFC 8878 §3.1.1); anything else is plain text.
 *   - No input line is longer than IMPORT_LINE_MAX bytes.
 * Not modeled: nothing (format plumbing only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "base/vec.h"
#include "trace/import.h"
#include "trace/trace_internal.h"

#define IMPORT_LINE_MAX (1u << 20)
#define IMPORT_CHUNK (1u << 17)
#define SINK_BATCH 512u

const import_source_t *const import_sources[] = {
    &import_source_ftrace,
    &import_source_qemu,
    &import_source_tracecmd,
    NULL,
};

const import_source_t *import_find(const char *name)
{
    for (const import_source_t *const *s = import_sources; *s; s++)
        if (!strcmp((*s)->name, name))
            return *s;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */
struct import_in {
    FILE *f;
    const char *name;
    bool zstd;
    bool started;    /* magic checked                                 */
    bool eof;        /* raw input exhausted                           */
    bool frame_open; /* zstd: inside a frame (ret != 0 last time)     */
    ZSTD_DStream *ds;
    unsigned char *raw; /* compressed input buffer                  */
    ZSTD_inBuffer zin;
    char *text; /* decompressed / plain text buffer         */
    size_t text_len, text_pos;
    char *line;
    size_t line_cap;
    unsigned long lineno;
};

import_in_t *import_in_new(FILE *f, const char *name, iosim_err_t *err)
{
    import_in_t *in = calloc(1, sizeof *in);
    if (!in) {
        iosim_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    in->f = f;
    in->name = name;
    in->raw = malloc(IMPORT_CHUNK);
    in->text = malloc(IMPORT_CHUNK);
    in->line_cap = 4096;
    in->line = malloc(in->line_cap);
    if (!in->raw || !in->text || !in->line) {
        import_in_free(in);
        iosim_err_set(err, "%s: out of memory", name);
        return NULL;
    }
    return in;
}

void import_in_free(import_in_t *in)
{
    if (!in)
        return;
    if (in->ds)
        ZSTD_freeDStream(in->ds);
    free(in->raw);
    free(in->text);
    free(in->line);
    free(in);
}

static size_t read_full(FILE *f, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t r = fread(buf + got, 1, n - got, f);
        if (r == 0)
            break;
        got += r;
    }
    return got;
}

/* Reads the first bytes and decides plain vs zstd. */
static int in_start(import_in_t *in, iosim_err_t *err)
{
    unsigned char magic[4];
    size_t got = read_full(in->f, magic, sizeof magic);
    if (ferror(in->f))
        return iosim_err_set(err, "%s: read error: %s", in->name,
                             iosim_errno_str(errno));
    in->started = true;
    in->zstd = got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 &&
               magic[2] == 0x2f && magic[3] == 0xfd;
    if (in->zstd) {
        if (!in->ds) {
            in->ds = ZSTD_createDStream();
            if (!in->ds)
                return iosim_err_set(err, "%s: out of memory", in->name);
        }
        ZSTD_DCtx_reset(in->ds, ZSTD_reset_session_only);
        memcpy(in->raw, magic, 4);
        in->zin.src = in->raw;
        in->zin.size = 4;
        in->zin.pos = 0;
        in->frame_open = true;
    } else {
        memcpy(in->text, magic, got);
        in->text_len = got;
        in->text_pos = 0;
    }
    if (got < 4)
        in->eof = true;
    return 0;
}

/* Refills in->text; returns 1 if bytes are available, 0 at end, -1. */
static int in_fill(import_in_t *in, iosim_err_t *err)
{
    in->text_pos = 0;
    in->text_len = 0;
    if (!in->zstd) {
        if (in->eof)
            return 0;
        size_t r = fread(in->text, 1, IMPORT_CHUNK, in->f);
        if (r == 0) {
            if (ferror(in->f))
                return iosim_err_set(err, "%s: read error: %s", in->name,
                                     iosim_errno_str(errno));
            in->eof = true;
            return 0;
        }
        in->text_len = r;
        return 1;
    }
    for (;;) {
        if (in->zin.pos == in->zin.size && !in->eof) {
            size_t r = fread(in->raw, 1, IMPORT_CHUNK, in->f);
            if (r == 0) {
                if (ferror(in->f))
                    return iosim_err_set(err, "%s: read error: %s", in->name,
                                         iosim_errno_str(errno));
                in->eof = true;
            }
            in->zin.src = in->raw;
            in->zin.size = r;
            in->zin.pos = 0;
        }
        if (in->zin.pos == in->zin.size && in->eof) {
            if (in->frame_open)
                return iosim_err_set(err,
                                     "%s: truncated zstd stream (ends "
                                     "inside a frame)",
                                     in->name);
            return 0;
        }
        ZSTD_outBuffer zout = {in->text, IMPORT_CHUNK, 0};
        size_t ret = ZSTD_decompressStream(in->ds, &zout, &in->zin);
        if (ZSTD_isError(ret))
            return iosim_err_set(
                err, "%s: %s%s", in->name,
                trace_zstd_oom(ret) ? "" : "zstd: ", trace_zstd_why(ret));
        in->frame_open = ret != 0;
        if (zout.pos > 0) {
            in->text_len = zout.pos;
            return 1;
        }
    }
}

int import_in_line(import_in_t *in, char **line, size_t *len, iosim_err_t *err)
{
    if (!in->started && in_start(in, err) < 0)
        return -1;
    size_t n = 0;
    bool any = false;
    for (;;) {
        if (in->text_pos == in->text_len) {
            int r = in_fill(in, err);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
        }
        const char *start = in->text + in->text_pos;
        size_t avail = in->text_len - in->text_pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (n + take + 1 > in->line_cap) {
            if (n + take + 1 > IMPORT_LINE_MAX)
                return iosim_err_set(err, "%s:%lu: line longer than %u bytes",
                                     in->name, in->lineno + 1, IMPORT_LINE_MAX);
            if (vec_reserve(&in->line, &in->line_cap, n + take + 1, 4096))
                return iosim_err_set(err, "%s: out of memory", in->name);
        }
        memcpy(in->line + n, start, take);
        n += take;
        any = true;
        in->text_pos += take;
        if (nl) {
            in->text_pos++; /* the newline */
            break;
        }
    }
    if (!any)
        return 0;
    if (n > 0 && in->line[n - 1] == '\r')
        n--;
    in->line[n] = '\0';
    in->lineno++;
    *line = in->line;
    if (len)
        *len = n;
    return 1;
}

unsigned long import_in_lineno(const import_in_t *in) { return in->lineno; }

int import_in_rewind(import_in_t *in, iosim_err_t *err)
{
    if (fseek(in->f, 0, SEEK_SET) != 0)
        return iosim_err_set(err,
                             "%s: cannot rewind (the QEMU import reads its "
                             "input twice: give a file, not a pipe)",
                             in->name);
    clearerr(in->f);
    in->started = false;
    in->eof = false;
    in->frame_open = false;
    in->text_len = in->text_pos = 0;
    in->zin.size = in->zin.pos = 0;
    in->lineno = 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sink                                                                */
/* ------------------------------------------------------------------ */
struct import_sink {
    const import_opts_t *opts;
    const char *input;  /* the input's name (import_run), for messages */
    const char *source; /* the source's name ("ftrace", "qemu")        */
    import_counts_t *counts;
    iosim_trace_meta_t meta;
    char *path;
    bool text;
    iosim_trace_writer_t *w;
    import_emit_fn emit;
    void *emit_arg;
    /* domain vote */
    bool domain_decided;
    uint16_t domain;
    uint16_t votes[IMPORT_DID_VOTES];
    unsigned nvotes;
    iosim_rec_t *pending; /* grown on demand up to IMPORT_PENDING_MAX */
    size_t npending, cappending;
    /* window */
    bool in_window;
    /* output batch */
    iosim_rec_t batch[SINK_BATCH];
    size_t nbatch;
    uint32_t cpus_seen;
    bool finished;
    /* import_sink_defer_header(): records held here until finish */
    bool defer_header;
    iosim_rec_t *held;
    size_t nheld, capheld;
    uint64_t kept;        /* records kept (pending or out) */
    uint64_t last_handle; /* import_sink_last_handle */
    uint64_t puts;        /* import_sink_puts */
};

static void set_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static import_sink_t *sink_new(const import_opts_t *opts,
                               import_counts_t *counts)
{
    import_sink_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = opts;
    s->counts = counts;
    set_str(s->meta.workload, sizeof s->meta.workload, opts->workload);
    set_str(s->meta.device, sizeof s->meta.device, opts->dev_model);
    set_str(s->meta.policy, sizeof s->meta.policy, opts->policy);
    set_str(s->meta.kernel, sizeof s->meta.kernel, opts->kernel);
    set_str(s->meta.time_unit, sizeof s->meta.time_unit, "ns");
    s->meta.requests = opts->requests;
    /* the capture's ring format: the virtio-net model's (it refuses the
     * other one) */
    if (opts->virtio_ring && opts->virtio_ring[0])
        (void)iosim_trace_meta_set_implies(&s->meta, "dev.virtio-net.ring",
                                           opts->virtio_ring);
    /* its queue sizes: the virtio-net model's ring layout and indices
     * (vring_size of each queue, dev_virtio_net.c vn_layout) */
    const char *qkey[2] = {"dev.virtio-net.rx_queue_size",
                           "dev.virtio-net.tx_queue_size"};
    uint32_t qsize[2] = {opts->virtio_rx_size, opts->virtio_tx_size};
    for (int k = 0; k < 2; k++)
        if (qsize[k]) {
            char v[16];
            snprintf(v, sizeof v, "%u", qsize[k]);
            (void)iosim_trace_meta_set_implies(&s->meta, qkey[k], v);
        }
    if (opts->domain >= 0) {
        s->domain_decided = true;
        s->domain = (uint16_t)opts->domain;
    }
    return s;
}

import_sink_t *import_sink_file(const char *path, bool text,
                                const import_opts_t *opts,
                                import_counts_t *counts, iosim_err_t *err)
{
    import_sink_t *s = sink_new(opts, counts);
    if (s)
        s->path = strdup(path);
    if (!s || !s->path) {
        import_sink_free(s);
        iosim_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    s->text = text;
    return s;
}

import_sink_t *import_sink_callback(import_emit_fn emit, void *arg,
                                    const import_opts_t *opts,
                                    import_counts_t *counts)
{
    import_sink_t *s = sink_new(opts, counts);
    if (s) {
        s->emit = emit;
        s->emit_arg = arg;
    }
    return s;
}

iosim_trace_meta_t *import_sink_meta(import_sink_t *s) { return &s->meta; }

void import_sink_defer_header(import_sink_t *s) { s->defer_header = true; }

void import_sink_note_did(import_sink_t *s, uint16_t did)
{
    /* DID 0 is what Linux uses for caching-mode context invalidations
     * (MODEL.md §1.6.6), never a DMA domain. */
    if (s->domain_decided || did == 0 || s->nvotes >= IMPORT_DID_VOTES)
        return;
    s->votes[s->nvotes++] = did;
}

/* The header is written with the writer: metadata must be final here. */
static int sink_open_writer(import_sink_t *s, iosim_err_t *err)
{
    if (s->meta.cpus < s->cpus_seen)
        s->meta.cpus = s->cpus_seen;
    s->w = iosim_trace_create(s->path, &s->meta, s->text, err);
    return s->w ? 0 : -1;
}

static int sink_flush_batch(import_sink_t *s, iosim_err_t *err)
{
    if (s->nbatch == 0)
        return 0;
    if (s->defer_header) {
        if (vec_reserve(&s->held, &s->capheld, s->nheld + s->nbatch,
                        4 * SINK_BATCH))
            return iosim_err_set(err, "%s: out of memory",
                                 s->path ? s->path
                                         : (s->input ? s->input : "input"));
        memcpy(s->held + s->nheld, s->batch, s->nbatch * sizeof *s->batch);
        s->nheld += s->nbatch;
    } else if (s->emit) {
        if (s->emit(s->emit_arg, s->batch, s->nbatch, err) < 0)
            return -1;
    } else {
        if (!s->w && sink_open_writer(s, err) < 0)
            return -1;
        if (iosim_trace_write(s->w, s->batch, s->nbatch, err) < 0)
            return -1;
    }
    s->nbatch = 0;
    return 0;
}

static int sink_out(import_sink_t *s, const iosim_rec_t *r, iosim_err_t *err)
{
    iosim_rec_t *b = &s->batch[s->nbatch++];
    *b = *r;
    if ((b->kind == IOSIM_REC_MAP || b->kind == IOSIM_REC_UNMAP ||
         b->kind == IOSIM_REC_DMA) &&
        b->domain == 0)
        b->domain = s->domain;
    if ((uint32_t)b->cpu + 1 > s->cpus_seen)
        s->cpus_seen = (uint32_t)b->cpu + 1;
    s->counts->records++;
    if (b->kind <= IOSIM_REC_KIND_MAX)
        s->counts->by_kind[b->kind]++;
    if (b->kind == IOSIM_REC_INVAL && b->desc < 16)
        s->counts->by_desc[b->desc]++;
    if (s->nbatch == SINK_BATCH)
        return sink_flush_batch(s, err);
    return 0;
}

/* The most common DID among the votes; ties go to the one seen first. */
static void sink_decide_domain(import_sink_t *s)
{
    unsigned best = 0, best_n = 0;
    for (unsigned i = 0; i < s->nvotes; i++) {
        unsigned n = 0;
        for (unsigned j = 0; j < s->nvotes; j++)
            n += s->votes[j] == s->votes[i];
        if (n > best_n) {
            best_n = n;
            best = i;
        }
    }
    s->domain = best_n ? s->votes[best] : 0;
    s->domain_decided = true;
}

static int sink_release_pending(import_sink_t *s, iosim_err_t *err)
{
    sink_decide_domain(s);
    for (size_t i = 0; i < s->npending; i++)
        if (sink_out(s, &s->pending[i], err) < 0)
            return -1;
    s->npending = 0;
    free(s->pending);
    s->pending = NULL;
    s->cappending = 0;
    return 0;
}

int import_sink_put(import_sink_t *s, const iosim_rec_t *r, iosim_err_t *err)
{
    s->puts++;
    if (s->opts->window) {
        bool keep = s->in_window;
        if (r->kind == IOSIM_REC_MARK && r->flags == IOSIM_MARK_BEGIN) {
            s->in_window = true;
            keep = true;
        } else if (r->kind == IOSIM_REC_MARK && r->flags == IOSIM_MARK_END) {
            s->in_window = false;
        }
        if (!keep) {
            s->counts->outside_window++;
            s->last_handle = UINT64_MAX;
            return 0;
        }
    }
    s->last_handle = s->kept++;
    if (!s->domain_decided) {
        /* most imports decide the domain within a few records: grow the
         * buffer instead of allocating all of it per import */
        if (vec_reserve(&s->pending, &s->cappending, s->npending + 1, 256))
            return iosim_err_set(err, "%s: out of memory",
                                 s->input ? s->input : "input");
        s->pending[s->npending++] = *r;
        if (s->npending == IMPORT_PENDING_MAX || s->nvotes == IMPORT_DID_VOTES)
            return sink_release_pending(s, err);
        return 0;
    }
    return sink_out(s, r, err);
}

uint64_t import_sink_last_handle(const import_sink_t *s)
{
    return s->last_handle;
}

uint64_t import_sink_puts(const import_sink_t *s) { return s->puts; }

iosim_rec_t *import_sink_held(import_sink_t *s, uint64_t handle)
{
    uint64_t out = s->counts->records; /* records past the pending list */
    if (handle >= s->kept)
        return NULL;
    if (handle >= out)
        return &s->pending[handle - out];
    /* out records still in memory: held (from the first, when the
     * header is deferred), then the batch */
    uint64_t first = out - s->nbatch - (s->defer_header ? s->nheld : 0);
    if (handle < first)
        return NULL;
    uint64_t i = handle - first;
    if (s->defer_header && i < s->nheld)
        return &s->held[i];
    return &s->batch[i - (s->defer_header ? s->nheld : 0)];
}

int import_sink_set_reserved(import_sink_t *s, uint64_t handle, uint16_t value)
{
    iosim_rec_t *r = import_sink_held(s, handle);
    if (!r)
        return -1;
    r->reserved = value;
    return 0;
}

int import_sink_finish(import_sink_t *s, iosim_err_t *err)
{
    if (!s->domain_decided && sink_release_pending(s, err) < 0)
        return -1;
    s->counts->domain = s->domain;
    /* nothing the source knows (an empty file, another format): bad input
     * rather than an empty trace (a passthrough capture still has its
     * window marks) */
    const import_counts_t *c = s->counts;
    if (c->records + c->outside_window + c->unknown_events == 0)
        return iosim_err_set(err,
                             "%s: %llu lines, none an event the %s "
                             "import reads: not such a capture",
                             s->input ? s->input : "input",
                             (unsigned long long)c->lines,
                             s->source ? s->source : "");
    if (s->defer_header) {
        s->defer_header = false;
        if (s->emit) {
            if (s->nheld && s->emit(s->emit_arg, s->held, s->nheld, err) < 0)
                return -1;
        } else {
            if (sink_open_writer(s, err) < 0)
                return -1;
            if (s->nheld && iosim_trace_write(s->w, s->held, s->nheld, err) < 0)
                return -1;
        }
        free(s->held);
        s->held = NULL;
        s->nheld = 0;
    }
    /* An empty trace is still a valid trace (header only). */
    if (!s->emit && !s->w && sink_open_writer(s, err) < 0)
        return -1;
    if (sink_flush_batch(s, err) < 0)
        return -1;
    if (s->w) {
        iosim_trace_writer_t *w = s->w;
        s->w = NULL;
        if (iosim_trace_commit(w, err) < 0)
            return -1;
    }
    s->finished = true;
    return 0;
}

void import_sink_free(import_sink_t *s)
{
    if (!s)
        return;
    if (s->w)
        iosim_trace_abort(s->w);
    free(s->pending);
    free(s->held);
    free(s->path);
    free(s);
}

int import_run(const import_source_t *src, FILE *in, const char *in_name,
               import_sink_t *sink, const import_opts_t *opts,
               import_counts_t *counts, iosim_err_t *err)
{
    if (sink) {
        sink->input = in_name;
        sink->source = src->name;
    }
    if (src->validate && src->validate(opts, in_name, err))
        return -1;
    return src->run(in, in_name, sink, opts, counts, err);
}
