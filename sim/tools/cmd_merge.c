/* cmd_merge.c — `iosim-trace merge IN... -o OUT [options]`: one trace of
 * several tenants.
 *
 * Concepts:
 *   - Each input is one tenant (a VM with its own assigned device): its
 *     source ids and domain ids are renumbered so that no two inputs share
 *     one (in order of first appearance in the merged stream: domain
 *     1, 2, ...; source id 01:00.0, 01:01.0, ..., 01:1f.0, 02:00.0, ...),
 *     and its IOVAs are moved by input index x --iova-stride, so the
 *     tenants' address spaces do not overlap in the replay's single view
 *     of live mappings (a Linux guest allocates its IOVAs from the same
 *     top-down range as every other guest).  The same file may be given
 *     several times: N copies of one capture are N tenants (HyperSIO,
 *     Lavrov & Wentzlaff, ISCA'20, scale to 1,000 tenants this way from
 *     per-tenant logs).
 *   - Time: by default every input starts at 0 (--align start), then input
 *     k is shifted by k x --stagger and by its own --offsets entry;
 *     --align none keeps the captured times.  --factor F re-times every
 *     input as `iosim-trace retime --factor F` does (distance from the
 *     input's first record x F) before the shift.
 *   - Streaming: one reader per input, a k-way merge by time
 *     (trace/merge.h: ties go to the lower input index, and an input's
 *     own order is kept), one writer.  A first pass over the
 *     inputs reads their first times, window marks and IOVA extent.
 *   - The measurement window of the merged trace is the union of the
 *     inputs' windows: the first BEGIN mark is kept, the last END mark
 *     (the one that closes the last open window) is kept, the others are
 *     dropped.
 *   - Metadata: source "merge", workload "N tenants: a+b+...", kernel,
 *     policy and device when all inputs agree (else empty), cpus the
 *     largest, requests the sum; reference counts are dropped (each was
 *     one capture's own count, not the merged trace's).
 * Assumptions: inputs either all carry DMA records or none does (the
 *   model replays a trace's DMA records or models the device, not both).
 * Not modeled: CPU numbers are kept (the tenants' guest CPUs are counted
 *   as the same CPUs in the report's CPU-bound time).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "base/vec.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"
#include "trace/merge.h"

#define MERGE_BATCH 256        /* records buffered per input          */
#define MERGE_OUT_BATCH 4096   /* records per write                   */
#define MERGE_MAX_INPUTS 4096  /* open files; a tenant each           */
#define MERGE_SID_BASE 0x0100u /* 01:00.0                             */
#define MERGE_MAX_DIDS 65535u  /* domain ids 1..65535 (16 bits)        */
#define MERGE_MAX_SIDS ((0x10000u - MERGE_SID_BASE) / 8) /* function 0s */

static const char prog[] = "iosim-trace merge";

static int usage(FILE *f)
{
    fprintf(
        f,
        "usage: iosim-trace merge IN... -o OUT.zst [--text] [--align "
        "start|none]\n"
        "           [--stagger NS] [--offsets NS,NS,...] [--factor F]\n"
        "           [--iova-stride BYTES]\n"
        "  One trace of several tenants: each input keeps its records, with\n"
        "  its source ids and domain ids renumbered (no two inputs share\n"
        "  one) and its IOVAs moved by input index x --iova-stride (default\n"
        "  64G); the records of all inputs in time order.  An input may be\n"
        "  given several times (N copies = N tenants).\n"
        "  --align start  every input starts at time 0 (default); none: as\n"
        "                 captured\n"
        "  --stagger NS   input k starts k x NS later (default 0)\n"
        "  --offsets LIST per-input shift in ns, one per input\n"
        "  --factor F     re-time each input first, as retime --factor F\n"
        "  The window is the union of the inputs' windows; reference counts\n"
        "  are dropped; CPUs keep their numbers.\n" CLI_EXIT_STATUS_HELP);
    return f == stdout ? 0 : IOSIM_EXIT_BAD_INPUT;
}

typedef struct input {
    const char *path;
    iosim_trace_reader_t *r;
    iosim_rec_t buf[MERGE_BATCH];
    long n, pos; /* records in buf, next one */
    bool done;
    /* first pass */
    uint64_t t0; /* first record's time */
    bool any;
    uint64_t iova_end; /* largest iova + size (MAP/UNMAP/DMA) */
    uint64_t ends;     /* END marks */
    /* placement */
    int64_t shift; /* added to (re-timed) times */
    uint64_t iova_add;
} input_t;

/* The (re-timed, shifted) time of record r of input in. */
static uint64_t place_time(const input_t *in, const iosim_rec_t *r,
                           double factor)
{
    return retime_time(r->t, in->t0, factor, in->shift);
}

static bool has_iova(const iosim_rec_t *r)
{
    if (r->kind == IOSIM_REC_MARK)
        return r->flags == IOSIM_MARK_REPOST;
    return true;
}

/* First pass over one input: first time, IOVA extent, END marks. */
static int scan(input_t *in, iosim_err_t *err)
{
    iosim_trace_reader_t *r = iosim_trace_open(in->path, err);
    if (!r)
        return -1;
    long n;
    while ((n = iosim_trace_read(r, in->buf, MERGE_BATCH, err)) > 0)
        for (long i = 0; i < n; i++) {
            const iosim_rec_t *x = &in->buf[i];
            if (!in->any)
                in->t0 = x->t;
            in->any = true;
            if (x->kind != IOSIM_REC_MARK && x->kind != IOSIM_REC_INVAL &&
                x->iova + x->size > in->iova_end)
                in->iova_end = x->iova + x->size;
            if (x->kind == IOSIM_REC_MARK && x->flags == IOSIM_MARK_END)
                in->ends++;
        }
    iosim_trace_close(r);
    return n < 0 ? -1 : 0;
}

/* Refills in->buf; false when the input has ended (or failed: *failed). */
static bool fill(input_t *in, bool *failed, iosim_err_t *err)
{
    if (in->pos < in->n)
        return true;
    if (in->done)
        return false;
    in->n = iosim_trace_read(in->r, in->buf, MERGE_BATCH, err);
    in->pos = 0;
    if (in->n <= 0) {
        in->done = true;
        if (in->n < 0)
            *failed = true;
        return false;
    }
    return true;
}

/* ---- metadata ---------------------------------------------------------- */
static void agree(char *dst, size_t n, const char *src, bool first)
{
    if (first)
        snprintf(dst, n, "%s", src);
    else if (strcmp(dst, src) != 0)
        dst[0] = '\0';
}

static int merged_meta(input_t *in, size_t nin, iosim_trace_meta_t *m,
                       iosim_err_t *err)
{
    memset(m, 0, sizeof *m);
    char work[sizeof m->workload] = "";
    for (size_t k = 0; k < nin; k++) {
        const iosim_trace_meta_t *a = iosim_trace_meta(in[k].r);
        if (k > 0 && a->has_dma != m->has_dma)
            return iosim_err_set(err,
                                 "%s: has_dma=%u but %s has_dma=%u (the "
                                 "model replays a trace's DMA records or "
                                 "models the device, not both)",
                                 in[k].path, a->has_dma, in[0].path,
                                 m->has_dma);
        m->has_dma = a->has_dma;
        agree(m->kernel, sizeof m->kernel, a->kernel, k == 0);
        agree(m->policy, sizeof m->policy, a->policy, k == 0);
        agree(m->device, sizeof m->device, a->device, k == 0);
        agree(m->retimed, sizeof m->retimed, a->retimed, k == 0);
        agree(m->time_unit, sizeof m->time_unit, a->time_unit, k == 0);
        if (a->cpus > m->cpus)
            m->cpus = a->cpus;
        m->requests += a->requests;
        size_t len = strlen(work);
        /* the first few names; the count says how many there are */
        const char *name = a->workload[0] ? a->workload : "?";
        size_t room = sizeof work - len - 1;
        if (k && room) {
            work[len++] = '+';
            room--;
        }
        size_t nl = strlen(name) < room ? strlen(name) : room;
        memcpy(work + len, name, nl);
        work[len + nl] = '\0';
    }
    snprintf(m->source, sizeof m->source, "merge");
    int h = snprintf(m->workload, sizeof m->workload, "%zu tenants: ", nin);
    if (h > 0 && (size_t)h < sizeof m->workload)
        snprintf(m->workload + h, sizeof m->workload - (size_t)h, "%.*s",
                 (int)(sizeof m->workload - (size_t)h - 1), work);
    /* a setting the traces imply is kept when every input implies it
     * with the same value, as the string fields above */
    const iosim_trace_meta_t *a0 = iosim_trace_meta(in[0].r);
    for (uint32_t i = 0; nin && i < a0->n_implies; i++) {
        bool all = true;
        for (size_t k = 1; k < nin && all; k++) {
            const iosim_trace_meta_t *a = iosim_trace_meta(in[k].r);
            bool same = false;
            for (uint32_t j = 0; j < a->n_implies && !same; j++)
                same = !strcmp(a->implies[j].key, a0->implies[i].key) &&
                       !strcmp(a->implies[j].value, a0->implies[i].value);
            all = same;
        }
        if (all)
            iosim_trace_meta_set_implies(m, a0->implies[i].key,
                                         a0->implies[i].value);
    }
    return 0;
}

/* ---- options ------------------------------------------------------------- */
static int parse_i64_list(const char *s, int64_t *out, size_t n)
{
    size_t k = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || k == n)
            return -1;
        out[k++] = v;
        if (*end == '\0')
            break;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
    return k == n ? 0 : -1;
}

/* One input's ids, old -> new, in order of first appearance (an input
 * has a few devices and domains: a linear search). */
typedef struct idmap {
    uint16_t *old, *new_;
    size_t n, cap;
} idmap_t;

/* The new id of old (base + step x the running count over all inputs). */
static int renumber(idmap_t *m, uint32_t *count, uint32_t max, uint16_t old,
                    uint16_t base, uint16_t step, uint16_t *out)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->old[i] == old) {
            *out = m->new_[i];
            return 0;
        }
    if (*count == max)
        return -1;
    size_t capo = m->cap, capn = m->cap; /* one count, two arrays */
    if (vec_reserve(&m->old, &capo, m->n + 1, 4) ||
        vec_reserve(&m->new_, &capn, m->n + 1, 4))
        return -1;
    m->cap = capo;
    m->old[m->n] = old;
    *out = m->new_[m->n++] = (uint16_t)(base + (*count)++ * step);
    return 0;
}

int cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *offsets = NULL;
    const char *paths[MERGE_MAX_INPUTS];
    size_t nin = 0;
    bool text = false, align = true;
    double factor = 1.0;
    uint64_t stagger = 0, stride = 1ull << 36;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        if (!strcmp(a, "--text")) {
            text = true;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (strcmp(a, "-o") && strcmp(a, "--align") &&
                strcmp(a, "--stagger") && strcmp(a, "--offsets") &&
                strcmp(a, "--factor") && strcmp(a, "--iova-stride")) {
                cli_error(prog, "unknown option '%s' (try --help)", a);
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (++i >= argc) {
                cli_error(prog, "%s needs a value", a);
                return IOSIM_EXIT_BAD_INPUT;
            }
            const char *v = argv[i];
            if (!strcmp(a, "-o")) {
                out = v;
            } else if (!strcmp(a, "--align")) {
                if (strcmp(v, "start") && strcmp(v, "none")) {
                    cli_error(prog, "--align %s: expected start or none", v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
                align = !strcmp(v, "start");
            } else if (!strcmp(a, "--stagger")) {
                if (cli_parse_duration_ns(v, &stagger) && strcmp(v, "0") != 0) {
                    cli_error(prog,
                              "--stagger %s: expected a duration with "
                              "a unit (ns, us, ms, s), e.g. 5ms",
                              v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
            } else if (!strcmp(a, "--offsets")) {
                offsets = v;
            } else if (!strcmp(a, "--factor")) {
                if (retime_parse_factor(v, &factor)) {
                    cli_error(prog,
                              "--factor %s: expected a number in (0, "
                              "1e9]",
                              v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
            } else if (cli_parse_u64(v, &stride) || stride < 4096 ||
                       (stride & (stride - 1))) {
                cli_error(prog,
                          "--iova-stride %s: expected a power of two "
                          ">= 4K (e.g. 64G)",
                          v);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if (nin == MERGE_MAX_INPUTS) {
            cli_error(prog, "more than %d inputs", MERGE_MAX_INPUTS);
            return IOSIM_EXIT_BAD_INPUT;
        } else {
            paths[nin++] = a;
        }
    }
    if (nin == 0 || !out) {
        cli_error(prog,
                  "%s (usage: iosim-trace merge IN... -o OUT.zst; "
                  "try --help)",
                  nin ? "no -o OUT given" : "no input given");
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_err_t err = {0};
    for (size_t k = 0; k < nin; k++)
        if (outfile_not_input("-o", out, paths[k], &err)) {
            cli_error(prog, "%s", err.msg);
            return IOSIM_EXIT_BAD_INPUT;
        }
    int64_t *off = calloc(nin, sizeof *off);
    input_t *in = calloc(nin, sizeof *in);
    trace_merge_t h;
    bool h_ok = trace_merge_init(&h, nin) == 0;
    idmap_t *dids = calloc(nin, sizeof *dids),
            *sids = calloc(nin, sizeof *sids);
    uint32_t ndid = 0, nsid = 0;
    iosim_rec_t *ob = malloc(MERGE_OUT_BATCH * sizeof *ob);
    iosim_trace_writer_t *w = NULL;
    int rc = IOSIM_EXIT_BAD_INPUT;
    if (!off || !in || !h_ok || !dids || !sids || !ob) {
        cli_error(prog, "out of memory");
        rc = CLI_EXIT_OOM;
        goto done;
    }
    if (offsets && parse_i64_list(offsets, off, nin)) {
        cli_error(prog,
                  "--offsets %s: expected %zu whole numbers of ns "
                  "separated by commas (one per input)",
                  offsets, nin);
        goto done;
    }
    /* first pass, placement */
    uint64_t ends_total = 0;
    for (size_t k = 0; k < nin; k++) {
        in[k].path = paths[k];
        if (scan(&in[k], &err)) {
            cli_error(prog, "%s", err.msg);
            goto done;
        }
        if (in[k].iova_end > stride) {
            cli_error(prog,
                      "%s: IOVAs up to 0x%" PRIx64 " do not fit one "
                      "--iova-stride (0x%" PRIx64 "): give a larger one",
                      paths[k], in[k].iova_end, stride);
            goto done;
        }
        if (k && k > UINT64_MAX / stride) {
            cli_error(prog, "--iova-stride x %zu inputs exceeds 64 bits", nin);
            goto done;
        }
        in[k].iova_add = k * stride;
        in[k].shift =
            (align ? -(int64_t)in[k].t0 : 0) + (int64_t)(k * stagger) + off[k];
        ends_total += in[k].ends;
    }
    for (size_t k = 0; k < nin; k++) {
        if (!(in[k].r = iosim_trace_open(paths[k], &err))) {
            cli_error(prog, "%s", err.msg);
            goto done;
        }
    }
    iosim_trace_meta_t meta;
    if (merged_meta(in, nin, &meta, &err)) {
        cli_error(prog, "%s", err.msg);
        goto done;
    }
    cli_temp_add_trace(out);
    if (!(w = iosim_trace_create(out, &meta, text, &err))) {
        cli_error(prog, "%s", err.msg);
        goto done;
    }
    bool failed = false;
    for (size_t k = 0; k < nin && !failed; k++)
        if (fill(&in[k], &failed, &err))
            trace_merge_set(&h, k, place_time(&in[k], &in[k].buf[0], factor));
    size_t nob = 0;
    uint64_t ends_seen = 0, written = 0;
    bool begun = false;
    size_t k;
    uint64_t t;
    while (!failed && trace_merge_peek(&h, &k, &t)) {
        input_t *x = &in[k];
        iosim_rec_t r = x->buf[x->pos++];
        r.t = t;
        bool keep = true;
        if (r.kind == IOSIM_REC_MARK && r.flags == IOSIM_MARK_BEGIN) {
            keep = !begun;
            begun = true;
        } else if (r.kind == IOSIM_REC_MARK && r.flags == IOSIM_MARK_END) {
            keep = ++ends_seen == ends_total;
        }
        if (has_iova(&r))
            r.iova += x->iova_add;
        if (r.kind != IOSIM_REC_MARK &&
            (renumber(&dids[k], &ndid, MERGE_MAX_DIDS, r.domain, 1, 1,
                      &r.domain) ||
             renumber(&sids[k], &nsid, MERGE_MAX_SIDS, r.device, MERGE_SID_BASE,
                      8, &r.device))) {
            iosim_err_set(&err,
                          "%s: more than %u domains or %u source ids "
                          "over all inputs (or out of memory)",
                          x->path, MERGE_MAX_DIDS, MERGE_MAX_SIDS);
            failed = true;
            break;
        }
        if (keep) {
            ob[nob++] = r;
            written++;
        }
        if (nob == MERGE_OUT_BATCH) {
            if (iosim_trace_write(w, ob, nob, &err)) {
                failed = true;
                break;
            }
            nob = 0;
        }
        if (fill(x, &failed, &err))
            trace_merge_set(&h, k, place_time(x, &x->buf[x->pos], factor));
        else
            trace_merge_remove(&h, k);
    }
    if (!failed && nob && iosim_trace_write(w, ob, nob, &err))
        failed = true;
    if (failed) {
        iosim_trace_abort(w);
        w = NULL;
        cli_error(prog, "%s", err.msg);
        goto done;
    }
    iosim_trace_writer_t *cw = w;
    w = NULL;
    if (iosim_trace_commit(cw, &err)) {
        cli_error(prog, "%s", err.msg);
        goto done;
    }
    fprintf(stderr,
            "%s: %s: %" PRIu64 " records of %zu tenants (%u "
            "domains, %u source ids)\n",
            prog, out, written, nin, ndid, nsid);
    rc = 0;
done:
    if (w)
        iosim_trace_abort(w);
    for (size_t k = 0; in && k < nin; k++) {
        if (in[k].r)
            iosim_trace_close(in[k].r);
        if (dids) {
            free(dids[k].old);
            free(dids[k].new_);
        }
        if (sids) {
            free(sids[k].old);
            free(sids[k].new_);
        }
    }
    free(dids);
    free(sids);
    if (h_ok)
        trace_merge_free(&h);
    free(in);
    free(off);
    free(ob);
    return rc;
}
