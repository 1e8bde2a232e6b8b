/* sweep_file.c — loading a sweep file and planning its runs (sweep.h).
 *
 * Concepts:
 *   - The file is YAML read by the config loader's reader
 *     (config_yaml_parse: bounded size and depth, one document); every
 *     error points at the node: "file:line:col: key: what".
 *   - Top-level keys: traces, config, set, variants, grid, metrics,
 *     shard_size (README "Sweeps").  Paths are relative to the file.
 *   - Points = variants x grid, the grid being its blocks multiplied in
 *     order (the last block varying fastest): a `product` block is every
 *     combination of its keys' values, a `zip` block varies its keys
 *     together (lists of one length).  Values are a list of scalars or a
 *     range {from, to, step} (arithmetic) or {from, to, times} (geometric),
 *     both inclusive of `to` when they reach it.
 *   - Every point's configuration is built and validated at load, so a
 *     bad value fails before anything runs, at the line that gave it.
 * Assumptions: a grid key and a variant's set keys are distinct (a label
 *   must say what ran).
 * Not modeled: YAML anchors beyond what libyaml resolves.
 */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "base/sha256.h"
#include "base/u64map.h"
#include "config/config.h"
#include "sweep/sweep.h"

#define MAX_VALUES 100000 /* values of one grid key */

typedef struct ctx {
    const char *file;
    char *dir; /* the file's directory, "" = current */
    yaml_document_t *doc;
    iosim_err_t *err;
    iosim_sweep_t *s;
} ctx_t;

static int at(ctx_t *x, const yaml_node_t *n, const char *key, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
static int at(ctx_t *x, const yaml_node_t *n, const char *key, const char *fmt,
              ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return iosim_err_set(x->err, "%s:%zu:%zu: %s%s%s", x->file,
                         n->start_mark.line + 1, n->start_mark.column + 1,
                         key ? key : "", key ? ": " : "", msg);
}

static yaml_node_t *node(ctx_t *x, int id)
{
    return yaml_document_get_node(x->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                       : NULL;
}

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a sequence"
                                           : "a scalar";
}

/* A scalar's text, or an error naming what it is instead. */
static const char *want_scalar(ctx_t *x, const yaml_node_t *n, const char *key)
{
    const char *v = scalar(n);
    if (!v)
        at(x, n, key, "expected a scalar, got %s", kind(n));
    else if (strlen(v) != n->data.scalar.length) {
        at(x, n, key, "contains a NUL byte");
        v = NULL;
    }
    return v;
}

/* The same key earlier in map: an error at the later one. */
static int dup_key(ctx_t *x, const yaml_node_t *map,
                   const yaml_node_pair_t *pair, const char *prefix)
{
    const char *k = scalar(node(x, pair->key));
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair;
         q++) {
        const char *qk = scalar(node(x, q->key));
        if (qk && !strcmp(qk, k))
            return at(x, node(x, pair->key), prefix, "'%s': duplicate key", k);
    }
    return 0;
}

static char *dup_str(ctx_t *x, const char *v)
{
    char *d = strdup(v);
    if (!d)
        iosim_err_set(x->err, "out of memory");
    return d;
}

/* A path of the file relative to its directory. */
static char *resolve(ctx_t *x, const char *v)
{
    if (v[0] == '/' || !x->dir[0])
        return dup_str(x, v);
    size_t n = strlen(x->dir) + strlen(v) + 2;
    char *p = malloc(n);
    if (!p) {
        iosim_err_set(x->err, "out of memory");
        return NULL;
    }
    snprintf(p, n, "%s/%s", x->dir, v);
    return p;
}

/* ------------------------------------------------------------------ */
/* traces                                                              */
/* ------------------------------------------------------------------ */

static int add_trace(ctx_t *x, const yaml_node_t *n, const char *name,
                     const char *path)
{
    iosim_sweep_t *s = x->s;
    for (size_t i = 0; i < s->ntraces; i++)
        if (!strcmp(s->traces[i].path, path))
            return at(x, n, "traces", "'%s' given twice", name);
    if (s->ntraces == SWEEP_MAX_TRACES)
        return at(x, n, "traces", "more than %d traces", SWEEP_MAX_TRACES);
    sweep_trace_t *t = realloc(s->traces, (s->ntraces + 1) * sizeof *t);
    if (!t)
        return iosim_err_set(x->err, "out of memory");
    s->traces = t;
    t = &s->traces[s->ntraces];
    memset(t, 0, sizeof *t);
    t->name = dup_str(x, name);
    t->path = dup_str(x, path);
    s->ntraces++;
    if (!t->name || !t->path)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return at(x, n, "traces", "%s: %s", name, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return at(x, n, "traces", "%s: is a directory", name);
    /* hashed later (sweep_trace_hash); an unreadable trace is an error
     * now, as when it was hashed here */
    FILE *f = fopen(path, "rb");
    if (!f)
        return at(x, n, "traces", "%s: %s", path, iosim_errno_str(errno));
    fclose(f);
    return 0;
}

static int load_trace_item(ctx_t *x, const yaml_node_t *n)
{
    const char *v = want_scalar(x, n, "traces");
    if (!v)
        return -1;
    if (!v[0])
        return at(x, n, "traces", "an empty path");
    char *pattern = resolve(x, v);
    if (!pattern)
        return -1;
    int rc = 0;
    if (!strpbrk(v, "*?[")) {
        rc = add_trace(x, n, v, pattern);
    } else {
        glob_t g;
        int grc = glob(pattern, 0, NULL, &g);
        if (grc == GLOB_NOMATCH)
            rc = at(x, n, "traces", "'%s' matches no file", v);
        else if (grc != 0)
            rc =
                at(x, n, "traces", "'%s': cannot list: %s", v, strerror(errno));
        /* the matches as the file would name them: the file's directory
         * taken off again (glob sorts them) */
        size_t cut = v[0] == '/' || !x->dir[0] ? 0 : strlen(x->dir) + 1;
        for (size_t i = 0; grc == 0 && !rc && i < g.gl_pathc; i++)
            rc = add_trace(x, n, g.gl_pathv[i] + cut, g.gl_pathv[i]);
        if (grc == 0)
            globfree(&g);
    }
    free(pattern);
    return rc;
}

static int load_traces(ctx_t *x, const yaml_node_t *n)
{
    if (n->type == YAML_SCALAR_NODE)
        return load_trace_item(x, n);
    if (n->type != YAML_SEQUENCE_NODE)
        return at(x, n, "traces",
                  "expected a path or a list of paths, got "
                  "%s",
                  kind(n));
    for (yaml_node_item_t *i = n->data.sequence.items.start;
         i < n->data.sequence.items.top; i++)
        if (load_trace_item(x, node(x, *i)))
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* settings: a mapping of keys (dotted, or nested groups) to scalars   */
/* ------------------------------------------------------------------ */

typedef struct setting {
    char key[96];
    char value[128];
    const yaml_node_t *key_node, *value_node;
} setting_t;

typedef struct settings {
    setting_t *v;
    size_t n;
} settings_t;

/* A configuration key, with a did-you-mean when it is none. */
static int check_key(ctx_t *x, const yaml_node_t *n, const char *what,
                     const char *key)
{
    if (iosim_param_find(key))
        return 0;
    char near[160];
    if (config_suggest(key, near, sizeof near))
        return at(x, n, what, "%s: unknown key (did you mean %s?)", key, near);
    return at(x, n, what,
              "%s: unknown key (iosim --help-config lists "
              "them)",
              key);
}

/* Leaves (key, node) of a mapping flattened to dotted keys; values are
 * scalars (values_any: any node, for grids). */
typedef int (*leaf_fn)(ctx_t *x, const char *key, const yaml_node_t *kn,
                       const yaml_node_t *vn, void *arg);

static int walk_keys(ctx_t *x, const yaml_node_t *map, const char *what,
                     const char *prefix, leaf_fn fn, void *arg)
{
    if (map->type != YAML_MAPPING_NODE)
        return at(x, map, what,
                  "expected a mapping of configuration keys, "
                  "got %s",
                  kind(map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(x, p->key), *vn = node(x, p->value);
        const char *k = want_scalar(x, kn, what);
        if (!k)
            return -1;
        if (dup_key(x, map, p, what))
            return -1;
        char key[96];
        int len = prefix[0] ? snprintf(key, sizeof key, "%s.%s", prefix, k)
                            : snprintf(key, sizeof key, "%s", k);
        if (len < 0 || (size_t)len >= sizeof key || !k[0])
            return at(x, kn, what, "'%s': not a configuration key", k);
        if (vn->type == YAML_MAPPING_NODE && !iosim_param_find(key)) {
            if (walk_keys(x, vn, what, key, fn, arg))
                return -1;
            continue;
        }
        if (check_key(x, kn, what, key) || fn(x, key, kn, vn, arg))
            return -1;
    }
    return 0;
}

static int add_setting(ctx_t *x, const char *key, const yaml_node_t *kn,
                       const yaml_node_t *vn, void *arg)
{
    settings_t *ss = arg;
    const char *v = want_scalar(x, vn, key);
    if (!v)
        return -1;
    for (size_t i = 0; i < ss->n; i++)
        if (!strcmp(ss->v[i].key, key))
            return at(x, kn, key, "given twice");
    if (strlen(v) >= sizeof ss->v[0].value)
        return at(x, vn, key, "value too long");
    setting_t *n = realloc(ss->v, (ss->n + 1) * sizeof *n);
    if (!n)
        return iosim_err_set(x->err, "out of memory");
    ss->v = n;
    n = &ss->v[ss->n++];
    snprintf(n->key, sizeof n->key, "%s", key);
    snprintf(n->value, sizeof n->value, "%s", v);
    n->key_node = kn;
    n->value_node = vn;
    return 0;
}

/* ------------------------------------------------------------------ */
/* variants                                                            */
/* ------------------------------------------------------------------ */

typedef struct variant {
    char name[64], item[64];
    settings_t set;
    const yaml_node_t *at;
} variant_t;

typedef struct variants {
    variant_t *v;
    size_t n;
} variants_t;

static int load_variant(ctx_t *x, const yaml_node_t *n, variants_t *vs)
{
    variant_t *nv = realloc(vs->v, (vs->n + 1) * sizeof *nv);
    if (!nv)
        return iosim_err_set(x->err, "out of memory");
    vs->v = nv;
    variant_t *v = &vs->v[vs->n++];
    memset(v, 0, sizeof *v);
    v->at = n;
    const char *item = NULL, *name = NULL;
    const yaml_node_t *item_node = n;
    if (n->type == YAML_SCALAR_NODE) {
        item = want_scalar(x, n, "variants");
        if (!item)
            return -1;
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = node(x, p->key), *vn = node(x, p->value);
            const char *k = want_scalar(x, kn, "variants");
            if (!k || dup_key(x, n, p, "variants"))
                return -1;
            if (!strcmp(k, "name")) {
                if (!(name = want_scalar(x, vn, "variants.name")))
                    return -1;
            } else if (!strcmp(k, "item")) {
                if (!(item = want_scalar(x, vn, "variants.item")))
                    return -1;
                item_node = vn;
            } else if (!strcmp(k, "set")) {
                if (walk_keys(x, vn, "variants.set", "", add_setting, &v->set))
                    return -1;
            } else {
                return at(x, kn, "variants",
                          "unknown key '%s' (name, item, "
                          "set)",
                          k);
            }
        }
        if (!name && !item)
            return at(x, n, "variants",
                      "a variant needs a name or an "
                      "item");
    } else {
        return at(x, n, "variants",
                  "expected an item (strict@emulated) "
                  "or a mapping (name, item, set), got %s",
                  kind(n));
    }
    if (item &&
        (!item[0] || strchr(item, ',') || strlen(item) >= sizeof v->item))
        return at(x, item_node, "variants",
                  "'%s' is not one item "
                  "policy[@mode][:kernel]",
                  item);
    if (name && (!name[0] || strlen(name) >= sizeof v->name))
        return at(x, n, "variants.name", "'%s': empty or too long", name);
    snprintf(v->item, sizeof v->item, "%s", item ? item : "");
    snprintf(v->name, sizeof v->name, "%s", name ? name : item);
    for (size_t i = 0; i + 1 < vs->n; i++)
        if (!strcmp(vs->v[i].name, v->name))
            return at(x, n, "variants", "'%s' given twice", v->name);
    return 0;
}

/* ------------------------------------------------------------------ */
/* grid                                                                */
/* ------------------------------------------------------------------ */

typedef struct axis {
    char key[96];
    char **values;
    const yaml_node_t **nodes; /* where each value was given */
    size_t n, cap;
    u64map_t seen; /* each value's hash (value_hash): a repeat is found
                      without comparing with every value before it */
} axis_t;

typedef struct block {
    bool zip;
    axis_t *axes;
    size_t naxes;
    size_t points;
} block_t;

typedef struct grid {
    block_t *b;
    size_t n;
} grid_t;

/* FNV-1a (64-bit) of a value, below UINT64_MAX (u64map's keys). */
static uint64_t value_hash(const char *v)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *v; v++)
        h = (h ^ (unsigned char)*v) * 0x100000001b3u;
    return h == UINT64_MAX ? h - 1 : h;
}

/* Appends a value.  A repeat is looked for among the values of the same
 * hash only (comparing with every earlier value made 100,000 values cost
 * a minute: a range of a billion took 45 s to be refused). */
static int axis_push(ctx_t *x, axis_t *a, const char *v, const yaml_node_t *n)
{
    if (a->n == MAX_VALUES)
        return at(x, n, a->key, "more than %d values", MAX_VALUES);
    uint64_t h = value_hash(v), any;
    if (!a->seen.s && u64map_init(&a->seen, 64))
        return iosim_err_set(x->err, "out of memory");
    if (u64map_get(&a->seen, h, &any)) /* a repeat, or a rare collision */
        for (size_t i = 0; i < a->n; i++)
            if (!strcmp(a->values[i], v))
                return at(x, n, a->key, "value '%s' given twice", v);
    if (strlen(v) >= sizeof((iosim_point_t *)0)->sets[0].value)
        return at(x, n, a->key, "value too long");
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        char **nv = realloc(a->values, cap * sizeof *nv);
        if (nv)
            a->values = nv;
        const yaml_node_t **nn =
            nv ? realloc(a->nodes, cap * sizeof *nn) : NULL;
        if (nn)
            a->nodes = nn;
        if (!nv || !nn)
            return iosim_err_set(x->err, "out of memory");
        a->cap = cap;
    }
    if (u64map_put(&a->seen, h, a->n) || !(a->values[a->n] = strdup(v)))
        return iosim_err_set(x->err, "out of memory");
    a->nodes[a->n++] = n;
    return 0;
}

static bool parse_num(const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return v[0] && !*end && errno == 0 && isfinite(*out);
}

/* {from, to, step} or {from, to, times}: inclusive of `to` when a value
 * reaches it (within a millionth of a step, so 0.1 steps end on 1.0). */
static int load_range(ctx_t *x, const yaml_node_t *n, axis_t *a)
{
    double from = 0, to = 0, step = 0, times = 0;
    bool has[4] = {false};
    static const char *names[4] = {"from", "to", "step", "times"};
    double *dst[4] = {&from, &to, &step, &times};
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(x, p->key), *vn = node(x, p->value);
        const char *k = want_scalar(x, kn, a->key);
        if (!k || dup_key(x, n, p, a->key))
            return -1;
        int f = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(k, names[i]))
                f = i;
        if (f < 0)
            return at(x, kn, a->key,
                      "unknown range key '%s' (from, to, "
                      "step or times)",
                      k);
        const char *v = want_scalar(x, vn, a->key);
        if (!v)
            return -1;
        if (!parse_num(v, dst[f]))
            return at(x, vn, a->key, "%s: '%s' is not a number", k, v);
        has[f] = true;
    }
    if (!has[0] || !has[1] || has[2] == has[3])
        return at(x, n, a->key,
                  "a range is {from, to, step} or {from, to, "
                  "times}");
    if (has[2] && (step == 0 || (to - from) / step < 0))
        return at(x, n, a->key, "step %g never goes from %g to %g", step, from,
                  to);
    if (has[3] && (times <= 1 || from <= 0 || to < from))
        return at(x, n, a->key,
                  "times needs from > 0, to >= from and times "
                  "> 1");
    /* the count first: a range of a billion values is refused at once,
     * not after MAX_VALUES of them were made (+1: `to` itself) */
    double steps = has[2] ? (to - from) / step : log(to / from) / log(times);
    if (!(steps < MAX_VALUES))
        return at(x, n, a->key, "more than %d values", MAX_VALUES);
    bool ints = from == floor(from) &&
                (has[2] ? step == floor(step) : times == floor(times));
    /* whole numbers are exact in a double up to 2^53: beyond, values
     * would merge ("given twice") or come out rounded */
    if (ints && !(fabs(from) <= 0x1p53 && fabs(to) <= 0x1p53))
        return at(x, n, a->key,
                  "a range of whole numbers must stay within "
                  "+-2^53 (9007199254740992) to be exact; list such values");
    for (size_t i = 0;; i++) {
        double v =
            has[2] ? from + (double)i * step : from * pow(times, (double)i);
        double slack = has[2] ? fabs(step) * 1e-6 : v * 1e-9;
        if (has[2] ? (step > 0 ? v > to + slack : v < to - slack)
                   : v > to + slack)
            break;
        if (has[2] && fabs(v - to) <= slack)
            v = to;
        char buf[64];
        if (ints && fabs(v) < 1e18)
            snprintf(buf, sizeof buf, "%.0f", v);
        else
            snprintf(buf, sizeof buf, "%.15g", v);
        if (axis_push(x, a, buf, n))
            return -1;
    }
    return 0;
}

static int add_axis(ctx_t *x, const char *key, const yaml_node_t *kn,
                    const yaml_node_t *vn, void *arg)
{
    block_t *b = arg;
    axis_t *na = realloc(b->axes, (b->naxes + 1) * sizeof *na);
    if (!na)
        return iosim_err_set(x->err, "out of memory");
    b->axes = na;
    axis_t *a = &b->axes[b->naxes++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    (void)kn;
    if (vn->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = vn->data.sequence.items.start;
             i < vn->data.sequence.items.top; i++) {
            const char *v = want_scalar(x, node(x, *i), key);
            if (!v || axis_push(x, a, v, node(x, *i)))
                return -1;
        }
    } else if (vn->type == YAML_MAPPING_NODE) {
        if (load_range(x, vn, a))
            return -1;
    } else {
        const char *v = want_scalar(x, vn, key);
        if (!v || axis_push(x, a, v, vn))
            return -1;
    }
    if (!a->n)
        return at(x, vn, key, "no values");
    return 0;
}

static int load_grid(ctx_t *x, const yaml_node_t *n, grid_t *g)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return at(x, n, "grid",
                  "expected a list of blocks ({product: "
                  "...} or {zip: ...}), got %s",
                  kind(n));
    for (yaml_node_item_t *i = n->data.sequence.items.start;
         i < n->data.sequence.items.top; i++) {
        yaml_node_t *bn = node(x, *i);
        if (bn->type != YAML_MAPPING_NODE ||
            bn->data.mapping.pairs.top - bn->data.mapping.pairs.start != 1)
            return at(x, bn, "grid",
                      "a block is {product: {KEY: VALUES}} "
                      "or {zip: {KEY: VALUES}}");
        yaml_node_pair_t *p = bn->data.mapping.pairs.start;
        const char *k = want_scalar(x, node(x, p->key), "grid");
        if (!k)
            return -1;
        if (strcmp(k, "product") && strcmp(k, "zip"))
            return at(x, node(x, p->key), "grid",
                      "unknown block '%s' "
                      "(product or zip)",
                      k);
        block_t *nb = realloc(g->b, (g->n + 1) * sizeof *nb);
        if (!nb)
            return iosim_err_set(x->err, "out of memory");
        g->b = nb;
        block_t *b = &g->b[g->n++];
        memset(b, 0, sizeof *b);
        b->zip = !strcmp(k, "zip");
        char what[16];
        snprintf(what, sizeof what, "grid.%s", k);
        if (walk_keys(x, node(x, p->value), what, "", add_axis, b))
            return -1;
        if (!b->naxes)
            return at(x, bn, what, "no keys");
        b->points = b->zip ? b->axes[0].n : 1;
        for (size_t a = 0; a < b->naxes; a++) {
            if (b->zip && b->axes[a].n != b->points)
                return at(x, b->axes[a].nodes[0], b->axes[a].key,
                          "zip: %zu values, %s has %zu", b->axes[a].n,
                          b->axes[0].key, b->points);
            if (!b->zip) {
                if (b->points * b->axes[a].n > SWEEP_MAX_POINTS)
                    return at(x, bn, what, "more than %d configurations",
                              SWEEP_MAX_POINTS);
                b->points *= b->axes[a].n;
            }
        }
    }
    return 0;
}

static void grid_free(grid_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        for (size_t a = 0; a < g->b[i].naxes; a++) {
            for (size_t v = 0; v < g->b[i].axes[a].n; v++)
                free(g->b[i].axes[a].values[v]);
            free(g->b[i].axes[a].values);
            free(g->b[i].axes[a].nodes);
            u64map_fini(&g->b[i].axes[a].seen);
        }
        free(g->b[i].axes);
    }
    free(g->b);
}

/* ------------------------------------------------------------------ */
/* metrics                                                             */
/* ------------------------------------------------------------------ */

const char *sweep_metric_name(const sweep_metric_t *m)
{
    switch (m->kind) {
    case SWEEP_STAT:
        return iosim_stat_name(m->index);
    case SWEEP_DERIVED:
        return iosim_derived_name(m->index);
    case SWEEP_WARNING:
        return iosim_warning_name(m->index);
    default:
        return iosim_summary_name(m->index);
    }
}

static size_t metric_total(void)
{
    return iosim_stat_count() + iosim_derived_count() + iosim_warning_count() +
           iosim_summary_count();
}

/* The i-th metric of every report, in --list-stats order. */
static sweep_metric_t metric_at(size_t i)
{
    sweep_metric_t m = {SWEEP_STAT, i};
    size_t counts[3] = {iosim_stat_count(), iosim_derived_count(),
                        iosim_warning_count()};
    for (int k = 0; k < 3 && m.index >= counts[k]; k++) {
        m.index -= counts[k];
        m.kind = (sweep_metric_kind_t)(k + 1);
    }
    return m;
}

static int load_metrics(ctx_t *x, const yaml_node_t *n)
{
    iosim_sweep_t *s = x->s;
    size_t total = metric_total();
    bool *want = calloc(total, sizeof *want);
    if (!want)
        return iosim_err_set(x->err, "out of memory");
    int rc = 0;
    const yaml_node_t *one[1] = {n};
    const yaml_node_t **items = one;
    size_t nitems = 1;
    const yaml_node_t **seq = NULL;
    if (n->type == YAML_SEQUENCE_NODE) {
        nitems =
            (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        seq = calloc(nitems + 1, sizeof *seq);
        if (!seq) {
            free(want);
            return iosim_err_set(x->err, "out of memory");
        }
        for (size_t i = 0; i < nitems; i++)
            seq[i] = node(x, n->data.sequence.items.start[i]);
        items = seq;
    }
    for (size_t i = 0; i < nitems && !rc; i++) {
        const char *pat = want_scalar(x, items[i], "metrics");
        if (!pat) {
            rc = -1;
            break;
        }
        bool any = false;
        for (size_t m = 0; m < total; m++) {
            sweep_metric_t sm = metric_at(m);
            if (!fnmatch(pat, sweep_metric_name(&sm), 0))
                any = want[m] = true;
        }
        if (!any)
            rc = at(x, items[i], "metrics",
                    "'%s' names no metric (iosim "
                    "--list-stats lists them)",
                    pat);
    }
    free(seq);
    for (size_t m = 0; m < total && !rc; m++)
        if (want[m])
            s->metrics[s->nmetrics++] = metric_at(m);
    free(want);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the plan                                                            */
/* ------------------------------------------------------------------ */

static int add_swept(ctx_t *x, const char *key)
{
    iosim_sweep_t *s = x->s;
    for (size_t i = 0; i < s->nswept; i++)
        if (!strcmp(s->swept[i], key))
            return 0;
    char **n = realloc(s->swept, (s->nswept + 1) * sizeof *n);
    if (!n)
        return iosim_err_set(x->err, "out of memory");
    s->swept = n;
    if (!(s->swept[s->nswept] = strdup(key)))
        return iosim_err_set(x->err, "out of memory");
    s->nswept++;
    return 0;
}

/* A point's configuration error at the place that gave the key it is
 * about (a grid value, a variant's set or item), else at the variant. */
static int point_error(ctx_t *x, const iosim_point_t *pt,
                       const yaml_node_t *variant_node, iosim_err_t *e)
{
    for (size_t k = pt->nsets; k-- > 0;)
        if (e->key[0] && !strcmp(pt->sets[k].key, e->key))
            return iosim_err_set(x->err, "%s:%u:%u: %s", x->file,
                                 pt->sets[k].line, pt->sets[k].col, e->msg);
    char label[256];
    iosim_point_label(x->s->base, pt, label, sizeof label);
    if (variant_node)
        return at(x, variant_node, NULL, "%s: %s", label, e->msg);
    return iosim_err_set(x->err, "%s: %s: %s", x->file, label, e->msg);
}

static int plan(ctx_t *x, variants_t *vs, grid_t *g)
{
    iosim_sweep_t *s = x->s;
    bool any_item = false, any_mode = false, any_kernel = false;
    for (size_t v = 0; v < vs->n; v++) {
        any_item |= vs->v[v].item[0] != 0;
        any_mode |= strchr(vs->v[v].item, '@') != NULL;
        any_kernel |= strchr(vs->v[v].item, ':') != NULL;
    }
    /* grid keys: once in the grid, and not what a variant sets */
    for (size_t b = 0; b < g->n; b++)
        for (size_t a = 0; a < g->b[b].naxes; a++) {
            const axis_t *ax = &g->b[b].axes[a];
            for (size_t b2 = 0; b2 <= b; b2++)
                for (size_t a2 = 0; a2 < (b2 == b ? a : g->b[b2].naxes); a2++)
                    if (!strcmp(g->b[b2].axes[a2].key, ax->key))
                        return at(x, ax->nodes[0], ax->key,
                                  "given twice in "
                                  "the grid");
            if (any_item &&
                (!strcmp(ax->key, "os.policy") || !strcmp(ax->key, "hv.mode") ||
                 (any_kernel && !strcmp(ax->key, "os.kernel"))))
                return at(x, ax->nodes[0], ax->key,
                          "a variant's item sets "
                          "it (list the items "
                          "under variants)");
            for (size_t v = 0; v < vs->n; v++)
                for (size_t k = 0; k < vs->v[v].set.n; k++)
                    if (!strcmp(vs->v[v].set.v[k].key, ax->key))
                        return at(x, vs->v[v].set.v[k].key_node, ax->key,
                                  "variant %s sets a grid key", vs->v[v].name);
        }
    size_t per_variant = 1;
    size_t naxes = 0;
    for (size_t b = 0; b < g->n; b++) {
        if (per_variant * g->b[b].points > SWEEP_MAX_POINTS)
            return iosim_err_set(x->err,
                                 "%s: grid: more than %d "
                                 "configurations",
                                 x->file, SWEEP_MAX_POINTS);
        per_variant *= g->b[b].points;
        naxes += g->b[b].naxes;
    }
    size_t nv = vs->n ? vs->n : 1;
    if (per_variant * nv > SWEEP_MAX_POINTS)
        return iosim_err_set(x->err,
                             "%s: variants x grid: more than %d "
                             "configurations",
                             x->file, SWEEP_MAX_POINTS);
    s->npoints = per_variant * nv;
    if (!(s->points = calloc(s->npoints, sizeof *s->points)))
        return iosim_err_set(x->err, "out of memory");
    /* swept columns: what the items set, then the variants' keys, then
     * the grid's */
    if ((any_item && add_swept(x, "os.policy")) ||
        (any_mode && add_swept(x, "hv.mode")) ||
        (any_kernel && add_swept(x, "os.kernel")))
        return -1;
    for (size_t v = 0; v < vs->n; v++)
        for (size_t k = 0; k < vs->v[v].set.n; k++)
            if (add_swept(x, vs->v[v].set.v[k].key))
                return -1;
    for (size_t b = 0; b < g->n; b++)
        for (size_t a = 0; a < g->b[b].naxes; a++)
            if (add_swept(x, g->b[b].axes[a].key))
                return -1;
    size_t p = 0;
    for (size_t v = 0; v < nv; v++) {
        const variant_t *var = vs->n ? &vs->v[v] : NULL;
        if (var && var->set.n + naxes > IOSIM_POINT_MAX_SETS)
            return at(x, var->at, "variants",
                      "%s: more than %d keys set "
                      "with the grid's",
                      var->name, IOSIM_POINT_MAX_SETS);
        if (!var && naxes > IOSIM_POINT_MAX_SETS)
            return iosim_err_set(x->err, "%s: grid: more than %d keys", x->file,
                                 IOSIM_POINT_MAX_SETS);
        for (size_t c = 0; c < per_variant; c++, p++) {
            iosim_point_t *pt = &s->points[p];
            pt->from_file = true;
            if (var) {
                snprintf(pt->name, sizeof pt->name, "%s", var->name);
                snprintf(pt->item, sizeof pt->item, "%s", var->item);
                for (size_t k = 0; k < var->set.n; k++) {
                    struct iosim_point_set *ps = &pt->sets[pt->nsets++];
                    const setting_t *st = &var->set.v[k];
                    snprintf(ps->key, sizeof ps->key, "%s", st->key);
                    snprintf(ps->value, sizeof ps->value, "%s", st->value);
                    ps->line = (unsigned)st->value_node->start_mark.line + 1;
                    ps->col = (unsigned)st->value_node->start_mark.column + 1;
                }
            }
            /* mixed radix over the blocks, the last fastest; in a block
             * the last key fastest (product) or all together (zip) */
            size_t rest = c;
            size_t first = pt->nsets;
            pt->nsets += naxes;
            size_t slot = pt->nsets;
            for (size_t b = g->n; b-- > 0;) {
                const block_t *bl = &g->b[b];
                size_t digit = rest % bl->points;
                rest /= bl->points;
                for (size_t a = bl->naxes; a-- > 0;) {
                    const axis_t *ax = &bl->axes[a];
                    size_t vi = bl->zip ? digit : digit % ax->n;
                    if (!bl->zip)
                        digit /= ax->n;
                    struct iosim_point_set *ps = &pt->sets[--slot];
                    snprintf(ps->key, sizeof ps->key, "%s", ax->key);
                    snprintf(ps->value, sizeof ps->value, "%s", ax->values[vi]);
                    ps->in_label = true;
                    ps->line = (unsigned)ax->nodes[vi]->start_mark.line + 1;
                    ps->col = (unsigned)ax->nodes[vi]->start_mark.column + 1;
                }
            }
            (void)first;
            iosim_config_t *c2;
            iosim_err_t e = {0};
            if (iosim_point_config(s->base, pt, &c2, &e))
                return point_error(x, pt, var ? var->at : NULL, &e);
            iosim_config_free(c2);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the file                                                            */
/* ------------------------------------------------------------------ */

static int load_base(ctx_t *x, const yaml_node_t *config_node,
                     const settings_t *set)
{
    iosim_sweep_t *s = x->s;
    if (!(s->base = iosim_config_new()))
        return iosim_err_set(x->err, "out of memory");
    char *cpath = NULL;
    if (config_node) {
        const char *v = want_scalar(x, config_node, "config");
        if (!v)
            return -1;
        if (!v[0])
            return at(x, config_node, "config", "an empty path");
        if (!(s->config_name = dup_str(x, v)) || !(cpath = resolve(x, v)))
            return -1;
        iosim_err_t e;
        if (sha256_file(cpath, s->config_sha256, NULL, &e)) {
            free(cpath);
            return at(x, config_node, "config", "%s", e.msg);
        }
        if (iosim_config_load(s->base, cpath, x->err)) {
            free(cpath);
            return -1;
        }
    } else if (!(s->config_name = dup_str(x, ""))) {
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < set->n && !rc; i++) {
        char a[sizeof set->v[0].key + sizeof set->v[0].value + 2];
        snprintf(a, sizeof a, "%s=%s", set->v[i].key, set->v[i].value);
        iosim_err_t e = {0};
        if (iosim_config_set(s->base, a, &e))
            rc = at(x, set->v[i].value_node, NULL, "%s", e.msg);
    }
    iosim_err_t e = {0};
    if (!rc && iosim_config_validate(s->base, &e)) {
        size_t line, col;
        rc = -1;
        for (size_t i = 0; i < set->n; i++)
            if (!strcmp(set->v[i].key, e.key)) {
                at(x, set->v[i].value_node, NULL, "%s", e.msg);
                goto out;
            }
        if (cpath && e.key[0] &&
            !iosim_config_key_position(cpath, e.key, &line, &col))
            iosim_err_set(x->err, "%s:%zu:%zu: %s", s->config_name, line, col,
                          e.msg);
        else
            iosim_err_set(x->err, "%s: %s", cpath ? s->config_name : x->file,
                          e.msg);
    }
out:
    free(cpath);
    return rc;
}

static const char *const top_keys[] = {"traces",     "config", "set",
                                       "variants",   "grid",   "metrics",
                                       "shard_size", NULL};

static int load_doc(ctx_t *x, yaml_node_t *root)
{
    iosim_sweep_t *s = x->s;
    if (!root || root->type != YAML_MAPPING_NODE)
        return iosim_err_set(x->err,
                             "%s:%zu:%zu: expected a mapping with "
                             "traces, config, variants, grid, "
                             "metrics",
                             x->file, root ? root->start_mark.line + 1 : 1,
                             root ? root->start_mark.column + 1 : 1);
    const yaml_node_t *val[7] = {NULL};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(x, p->key);
        const char *k = want_scalar(x, kn, NULL);
        if (!k || dup_key(x, root, p, NULL))
            return -1;
        size_t i = 0;
        while (top_keys[i] && strcmp(top_keys[i], k))
            i++;
        if (!top_keys[i]) {
            if (iosim_param_find(k))
                return at(x, kn, k,
                          "a configuration key: give it under "
                          "set: (or grid:)");
            return at(x, kn, k,
                      "unknown key (traces, config, set, "
                      "variants, grid, metrics, shard_size)");
        }
        val[i] = node(x, p->value);
    }
    if (!val[0])
        return at(x, root, NULL, "traces: missing (the traces to run)");
    settings_t set = {0};
    variants_t vs = {0};
    grid_t g = {0};
    int rc = -1;
    if (load_traces(x, val[0]))
        goto out;
    if (val[2] && walk_keys(x, val[2], "set", "", add_setting, &set))
        goto out;
    if (load_base(x, val[1], &set))
        goto out;
    if (val[3]) {
        if (val[3]->type != YAML_SEQUENCE_NODE) {
            at(x, val[3], "variants", "expected a list, got %s", kind(val[3]));
            goto out;
        }
        for (yaml_node_item_t *i = val[3]->data.sequence.items.start;
             i < val[3]->data.sequence.items.top; i++)
            if (load_variant(x, node(x, *i), &vs))
                goto out;
    }
    if (val[4] && load_grid(x, val[4], &g))
        goto out;
    if (!(s->metrics = calloc(metric_total(), sizeof *s->metrics))) {
        iosim_err_set(x->err, "out of memory");
        goto out;
    }
    if (val[5]) {
        if (load_metrics(x, val[5]))
            goto out;
    } else {
        for (size_t m = 0; m < metric_total(); m++)
            s->metrics[s->nmetrics++] = metric_at(m);
    }
    s->shard_size = SWEEP_SHARD_DEFAULT;
    if (val[6]) {
        const char *v = want_scalar(x, val[6], "shard_size");
        char *end;
        unsigned long n = v ? strtoul(v, &end, 10) : 0;
        if (!v)
            goto out;
        if (!v[0] || *end || v[0] == '-' || n < 1 || n > SWEEP_SHARD_MAX) {
            at(x, val[6], "shard_size", "'%s' is not 1..%d configurations", v,
               SWEEP_SHARD_MAX);
            goto out;
        }
        s->shard_size = n;
    }
    if (plan(x, &vs, &g))
        goto out;
    s->shards_per_trace = (s->npoints + s->shard_size - 1) / s->shard_size;
    rc = 0;
out:
    free(set.v);
    for (size_t v = 0; v < vs.n; v++)
        free(vs.v[v].set.v);
    free(vs.v);
    grid_free(&g);
    return rc;
}

iosim_sweep_t *iosim_sweep_load(const char *path, const char *command,
                                iosim_err_t *err)
{
    iosim_sweep_t *s = calloc(1, sizeof *s);
    if (!s) {
        iosim_err_set(err, "out of memory");
        return NULL;
    }
    ctx_t x = {.file = path, .err = err, .s = s};
    yaml_document_t doc;
    bool have_doc = false;
    int rc = -1;
    if (!(s->file = strdup(path)) || !(s->command = strdup(command)) ||
        !(x.dir = strdup(path))) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    char *slash = strrchr(x.dir, '/');
    if (slash)
        *(slash == x.dir ? slash + 1 : slash) = '\0';
    else
        x.dir[0] = '\0';
    if (sha256_file(path, s->sha256, NULL, err))
        goto out;
    if (config_yaml_parse(path, &doc, err))
        goto out;
    have_doc = true;
    x.doc = &doc;
    if (load_doc(&x, yaml_document_get_root_node(&doc)))
        goto out;
    /* default shard directory: beside the file */
    size_t n = strlen(path);
    char *dir = malloc(n + 8);
    if (!dir) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    size_t stem = n;
    if (n > 5 && !strcmp(path + n - 5, ".yaml"))
        stem = n - 5;
    else if (n > 4 && !strcmp(path + n - 4, ".yml"))
        stem = n - 4;
    snprintf(dir, n + 8, "%.*s.shards", (int)stem, path);
    s->dir = dir;
    rc = 0;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    free(x.dir);
    if (rc) {
        iosim_sweep_free(s);
        return NULL;
    }
    return s;
}

void iosim_sweep_free(iosim_sweep_t *s)
{
    if (!s)
        return;
    sweep_hasher_free(s->hasher);
    free(s->file);
    free(s->command);
    free(s->config_name);
    iosim_config_free(s->base);
    for (size_t i = 0; i < s->ntraces; i++) {
        free(s->traces[i].name);
        free(s->traces[i].path);
    }
    free(s->traces);
    free(s->points);
    free(s->metrics);
    for (size_t i = 0; i < s->nswept; i++)
        free(s->swept[i]);
    free(s->swept);
    free(s->dir);
    free(s);
}

size_t iosim_sweep_trace_count(const iosim_sweep_t *s) { return s->ntraces; }

size_t iosim_sweep_point_count(const iosim_sweep_t *s) { return s->npoints; }

size_t iosim_sweep_shard_count(const iosim_sweep_t *s)
{
    return s->ntraces * s->shards_per_trace;
}
