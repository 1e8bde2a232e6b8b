/* gen_registry.c — the registry of generator kinds and the plumbing they
 * share: option tables, batched output, bounded random numbers.
 *
 * Concepts:
 *   - gen_kinds[] is the only list of kinds (a new one is one line here).
 *   - gen_param_set() sets one option from its text, so the defaults
 *     (gen_kind_defaults) and the command line (sim/tools/param_args.c,
 *     which walks argv) parse values and report errors the same way
 *     ("gen KIND: --opt: what").
 * Assumptions: sizes use powers of 1024 for K/M/G; the programs'
 *   cli_parse_u64() is this parser too.
 * Not modeled: nothing (plumbing only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/gen.h"
#include "trace/trace_internal.h"

const gen_kind_t *const gen_kinds[] = {
    &gen_kind_random,
    &gen_kind_nic,
    &gen_kind_pvp,
    NULL,
};

const gen_kind_t *gen_kind_find(const char *name)
{
    for (const gen_kind_t *const *k = gen_kinds; *k; k++)
        if (!strcmp((*k)->name, name))
            return *k;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */
int gen_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    if (shift && v > (~0ULL >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 1e15)
        return -1;
    *out = v;
    return 0;
}

int gen_param_set(const char *who, const gen_param_t *o, void *opts,
                  const char *val, iosim_err_t *err)
{
    void *dst = (char *)opts + o->offset;
    const char *sep = who ? ": " : "";
    if (!who)
        who = "";
    switch (o->type) {
    case GEN_OPT_U64: {
        uint64_t v;
        if (gen_parse_u64(val, &v))
            return iosim_err_set(err,
                                 "%s%s%s: expected a number (K/M/G "
                                 "suffix allowed), got '%s'",
                                 who, sep, o->name, val);
        if (o->max && (v < o->min || v > o->max))
            return iosim_err_set(err, "%s%s%s: %s is out of range [%llu, %llu]",
                                 who, sep, o->name, val,
                                 (unsigned long long)o->min,
                                 (unsigned long long)o->max);
        if (v < o->min) /* no upper limit (max 0) */
            return iosim_err_set(err, "%s%s%s: %s is less than %llu", who, sep,
                                 o->name, val, (unsigned long long)o->min);
        *(uint64_t *)dst = v;
        break;
    }
    case GEN_OPT_DOUBLE:
        if (parse_double(val, (double *)dst))
            return iosim_err_set(err,
                                 "%s%s%s: expected a positive number, "
                                 "got '%s'",
                                 who, sep, o->name, val);
        break;
    case GEN_OPT_BDF:
        if (trace_parse_bdf(val, strlen(val), (uint16_t *)dst))
            return iosim_err_set(err,
                                 "%s%s%s: expected [DDDD:]BB:DD.F (hex), got "
                                 "'%s'",
                                 who, sep, o->name, val);
        break;
    case GEN_OPT_CHOICE: {
        for (unsigned i = 0; o->choices[i]; i++)
            if (!strcmp(o->choices[i], val)) {
                *(unsigned *)dst = i;
                return 0;
            }
        char list[256] = "";
        size_t len = 0;
        for (unsigned i = 0; o->choices[i] && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                    i ? "|" : "", o->choices[i]);
        return iosim_err_set(err, "%s%s%s: expected %s, got '%s'", who, sep,
                             o->name, list, val);
    }
    case GEN_OPT_FLAG:
        *(bool *)dst = true;
        break;
    case GEN_OPT_PATH:
        *(const char **)dst = val;
        break;
    }
    return 0;
}

const char *gen_kind_who(const gen_kind_t *k)
{
    static _Thread_local char buf[64];
    snprintf(buf, sizeof buf, "gen %s", k->name);
    return buf;
}

const gen_param_t *gen_param_find(const gen_param_t *rows, const char *name)
{
    for (; rows && rows->name; rows++)
        if (!strcmp(rows->name, name))
            return rows;
    return NULL;
}

int gen_kind_defaults(const gen_kind_t *k, void *opts, iosim_err_t *err)
{
    memset(opts, 0, k->size);
    for (const gen_param_t *o = k->params; o->name; o++)
        if (o->def && gen_param_set(gen_kind_who(k), o, opts, o->def, err))
            return -1;
    return 0;
}

int gen_meta_implies(const gen_imply_t *rows, const void *params,
                     iosim_trace_meta_t *meta, iosim_err_t *err)
{
    if (!meta->device[0])
        return 0;
    for (; rows && rows->key; rows++) {
        char key[sizeof meta->implies[0].key], val[64];
        if (!rows->value(params, val, sizeof val))
            continue;
        snprintf(key, sizeof key, "dev.%s.%s", meta->device, rows->key);
        if (iosim_trace_meta_set_implies(meta, key, val))
            return iosim_err_set(err, "metadata: cannot record implies.%s=%s",
                                 key, val);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
gen_out_t *gen_out_create(const char *path, const iosim_trace_meta_t *meta,
                          bool text, iosim_err_t *err)
{
    gen_out_t *o = calloc(1, sizeof *o);
    if (!o) {
        iosim_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    o->w = iosim_trace_create(path, meta, text, err);
    if (!o->w) {
        free(o);
        return NULL;
    }
    return o;
}

int gen_out_flush(gen_out_t *o, iosim_err_t *err)
{
    if (o->n && iosim_trace_write(o->w, o->batch, o->n, err) < 0)
        return -1;
    o->n = 0;
    return 0;
}

int gen_out_commit(gen_out_t *o, iosim_err_t *err)
{
    if (gen_out_flush(o, err) < 0) {
        gen_out_abort(o);
        return -1;
    }
    iosim_trace_writer_t *w = o->w;
    free(o);
    return iosim_trace_commit(w, err) < 0 ? -1 : 0;
}

int gen_window_emit(gen_out_t *o, const gen_window_t *w, uint8_t kind,
                    uint64_t t, iosim_err_t *err)
{
    for (uint64_t i = 0; i < w->pages; i++) {
        iosim_rec_t r = gen_rec(kind, t, w->device, w->domain);
        r.iova = w->iova + i * w->page_size;
        r.size = w->page_size;
        if (kind == IOSIM_REC_MAP) {
            r.aux = w->phys + i * w->page_size;
            r.flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        }
        if (gen_out_put(o, &r, err))
            return -1;
    }
    return 0;
}

int gen_window_close(gen_out_t *o, const gen_window_t *w, uint64_t t_end,
                     iosim_err_t *err)
{
    iosim_rec_t r = gen_rec(IOSIM_REC_MARK, t_end, w->device, w->domain);
    r.flags = IOSIM_MARK_END;
    if (gen_out_put(o, &r, err) ||
        gen_window_emit(o, w, IOSIM_REC_UNMAP, t_end, err)) {
        gen_out_abort(o);
        return -1;
    }
    return gen_out_commit(o, err);
}

void gen_out_abort(gen_out_t *o)
{
    if (!o)
        return;
    if (o->w)
        iosim_trace_abort(o->w);
    free(o);
}

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */
uint64_t gen_rng_below(gen_rng_t *g, uint64_t n)
{
    /* Reject the top partial copy of [0, n) so every value is equally
     * likely: limit = largest multiple of n that fits in 2^64. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x;
    do
        x = gen_rng_next(g);
    while (x > limit);
    return x % n;
}
