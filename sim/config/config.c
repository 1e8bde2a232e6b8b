/* config.c — the configuration: defaults, YAML loading, --set overrides,
 * validation and echo, all driven by the parameter tables.
 *
 * Concepts:
 *   - A parameter is a row of iosim_param_t (config.h).  Its dotted path
 *     names both the nesting in YAML (vtd: iotlb: sets: 8) and the --set
 *     key (vtd.iotlb.sets=8).  A "group" is any proper prefix of a path
 *     (vtd, vtd.iotlb).  A key may also carry dots itself
 *     ("vtd.iotlb: {sets: 8}"), it is simply joined onto its parent.
 *   - Text -> value conversion (iosim_param_assign) is shared by the
 *     defaults, the loader and --set, so every route checks the same type,
 *     range and choices.
 *   - The loader works on a copy of the configuration and commits it only
 *     when the whole file is good, so a failed load changes nothing.
 * Assumptions:
 *   - Every row has a default (no required parameters today).
 *   - Unsigned integers accept decimal or 0x hex with an optional binary
 *     K/M/G suffix (4K = 4096); booleans true/false/yes/no/on/off.
 *   - A group whose value is empty (every child commented out) is an
 *     empty mapping, not an error.
 * Not modeled: YAML sequences, several documents in one file, merge keys.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base/csv.h"
#include "base/json.h"
#include "config/config.h"

/* The registries that own the free-text selectors (os.policy, hv.mode,
 * dev.model). */
#include "dev/dev.h"
#include "hv/hv.h"
#include "os/os.h"

#define PATH_MAX_LEN 256
#define WHY_LEN 256
/* How much of an offending value is quoted back in a message. */
#define QUOTE_MAX 64

/* ------------------------------------------------------------------ */
/* Table access                                                        */
/* ------------------------------------------------------------------ */

/* The tables as the registries assembled them (plugin_params.c);
 * iosim_config_new() refuses to make a configuration when that failed. */
// clang-format off
#define FOR_EACH_PARAM(p)                                                    \
    for (const iosim_param_t *const *tab_ = iosim_param_table_list();        \
         tab_ && *tab_; tab_++)                                              \
        for (const iosim_param_t *p = *tab_; p->path; p++)
// clang-format on

const iosim_param_t *iosim_param_find(const char *path)
{
    FOR_EACH_PARAM(p)
    {
        if (strcmp(p->path, path) == 0)
            return p;
    }
    return NULL;
}

/* True if path is a proper prefix (ending at a dot) of some parameter. */
static bool is_group(const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return true;
    FOR_EACH_PARAM(p)
    {
        if (strncmp(p->path, path, n) == 0 && p->path[n] == '.')
            return true;
    }
    return false;
}

static void *field_of(iosim_config_t *c, const iosim_param_t *p)
{
    return (char *)c + p->offset;
}

static const void *cfield_of(const iosim_config_t *c, const iosim_param_t *p)
{
    return (const char *)c + p->offset;
}

/* ------------------------------------------------------------------ */
/* Text <-> value                                                      */
/* ------------------------------------------------------------------ */

/* Numbers in messages and the reference: integers without exponent. */
static void format_number(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
}

/* Shortest %g form that reads back as the same double: deterministic
 * and round-trips through the echo. */
static void format_double(double v, char *buf, size_t n)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Quotes text back into a message, shortened if long. */
static void quote(const char *text, char *buf, size_t n)
{
    size_t len = strlen(text);
    if (len > QUOTE_MAX)
        snprintf(buf, n, "'%.*s...'", QUOTE_MAX, text);
    else
        snprintf(buf, n, "'%s'", text);
}

/* Unsigned integer: decimal or 0x hex, optional K/M/G (x1024^k).
 * Returns false on any other form or on overflow. */
static bool parse_unsigned(const char *text, uint64_t *out)
{
    const char *s = text;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    const char *digits = s;
    while (base == 16 ? isxdigit((unsigned char)*s)
                      : isdigit((unsigned char)*s))
        s++;
    if (s == digits)
        return false;
    unsigned shift = 0;
    switch (*s) {
    case 'k':
    case 'K':
        shift = 10;
        s++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        s++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        s++;
        break;
    default:
        break;
    }
    if (*s != '\0')
        return false;
    errno = 0;
    unsigned long long v = strtoull(digits, NULL, base);
    if (errno == ERANGE)
        return false;
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_double(const char *text, double *out)
{
    if (text[0] == '\0' || isspace((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool has_range(const iosim_param_t *p) { return p->min <= p->max; }

/* Is text one of the '|'-separated choices? */
static bool in_choices(const char *choices, const char *text)
{
    size_t n = strlen(text);
    const char *s = choices;
    for (;;) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (len == n && strncmp(s, text, n) == 0)
            return true;
        if (!bar)
            return false;
        s = bar + 1;
    }
}

static int range_error(const iosim_param_t *p, const char *value, char *why,
                       size_t whylen)
{
    char lo[32], hi[32];
    format_number(p->min, lo, sizeof lo);
    format_number(p->max, hi, sizeof hi);
    snprintf(why, whylen, "value %s out of range [%s, %s]", value, lo, hi);
    return -1;
}

/* vtd.iotlb.entries: once it or the ways are assigned with entries set,
 * the sets follow (entries / ways) when the ways divide it; otherwise the
 * sets stay and validation names the mismatch.  Assigning sets itself
 * changes nothing else, so sets and entries given together must agree. */
static void iotlb_entries_apply(iosim_config_t *c, const iosim_param_t *p)
{
    if (p->offset != offsetof(struct iosim_config, vtd.iotlb_entries) &&
        p->offset != offsetof(struct iosim_config, vtd.iotlb.ways))
        return;
    uint32_t e = c->vtd.iotlb_entries, w = c->vtd.iotlb.ways;
    if (e && w && e % w == 0)
        c->vtd.iotlb.sets = e / w;
}

static int param_assign(iosim_config_t *c, const iosim_param_t *p,
                        const char *text, char *why, size_t whylen);

int iosim_param_assign(iosim_config_t *c, const iosim_param_t *p,
                       const char *text, char *why, size_t whylen)
{
    if (param_assign(c, p, text, why, whylen))
        return -1;
    iotlb_entries_apply(c, p);
    return 0;
}

static int param_assign(iosim_config_t *c, const iosim_param_t *p,
                        const char *text, char *why, size_t whylen)
{
    char q[QUOTE_MAX + 8];
    quote(text, q, sizeof q);
    void *field = field_of(c, p);
    switch (p->type) {
    case IOSIM_P_BOOL: {
        bool v;
        if (!parse_bool(text, &v)) {
            snprintf(why, whylen,
                     "expected a boolean (true/false/yes/no/on/off), got %s",
                     q);
            return -1;
        }
        *(bool *)field = v;
        return 0;
    }
    case IOSIM_P_U32:
    case IOSIM_P_U64: {
        uint64_t v;
        if (!parse_unsigned(text, &v)) {
            snprintf(why, whylen, "expected an unsigned integer, got %s", q);
            return -1;
        }
        char vs[32];
        snprintf(vs, sizeof vs, "%" PRIu64, v);
        if (has_range(p) && ((double)v < p->min || (double)v > p->max))
            return range_error(p, vs, why, whylen);
        if (p->type == IOSIM_P_U32) {
            if (v > UINT32_MAX) {
                snprintf(why, whylen, "value %s out of range [0, %" PRIu32 "]",
                         vs, UINT32_MAX);
                return -1;
            }
            *(uint32_t *)field = (uint32_t)v;
        } else {
            *(uint64_t *)field = v;
        }
        return 0;
    }
    case IOSIM_P_F64: {
        double v;
        if (!parse_double(text, &v)) {
            snprintf(why, whylen, "expected a number, got %s", q);
            return -1;
        }
        if (has_range(p) && (v < p->min || v > p->max)) {
            char vs[32];
            format_number(v, vs, sizeof vs);
            return range_error(p, vs, why, whylen);
        }
        *(double *)field = v;
        return 0;
    }
    case IOSIM_P_STR:
        if (p->choices && !in_choices(p->choices, text)) {
            snprintf(why, whylen, "expected one of %s, got %s", p->choices, q);
            return -1;
        }
        if (strlen(text) >= IOSIM_NAME_LEN) {
            snprintf(why, whylen, "string %s longer than %d characters", q,
                     IOSIM_NAME_LEN - 1);
            return -1;
        }
        snprintf((char *)field, IOSIM_NAME_LEN, "%s", text);
        return 0;
    }
    snprintf(why, whylen, "parameter has an unknown type");
    return -1;
}

void iosim_param_format(const iosim_config_t *c, const iosim_param_t *p,
                        char *buf, size_t n)
{
    const void *field = cfield_of(c, p);
    switch (p->type) {
    case IOSIM_P_BOOL:
        snprintf(buf, n, "%s", *(const bool *)field ? "true" : "false");
        return;
    case IOSIM_P_U32:
        snprintf(buf, n, "%" PRIu32, *(const uint32_t *)field);
        return;
    case IOSIM_P_U64:
        snprintf(buf, n, "%" PRIu64, *(const uint64_t *)field);
        return;
    case IOSIM_P_F64:
        format_double(*(const double *)field, buf, n);
        return;
    case IOSIM_P_STR:
        /* bounded: a field written directly may lack its NUL */
        snprintf(buf, n, "%.*s", IOSIM_NAME_LEN, (const char *)field);
        return;
    }
    snprintf(buf, n, "?");
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

iosim_config_t *iosim_config_new(void)
{
    iosim_config_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!iosim_param_table_list()) { /* plug-ins beyond IOSIM_PLUGIN_AREA */
        free(c);
        return NULL;
    }
    FOR_EACH_PARAM(p)
    {
        char why[WHY_LEN];
        /* A default that does not parse is a table bug; the unit test
         * checks every row, so refuse rather than run half-initialized. */
        if (p->def && iosim_param_assign(c, p, p->def, why, sizeof why) != 0) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* struct iosim_config is plain data (no pointers), so a copy is deep. */
iosim_config_t *iosim_config_clone(const iosim_config_t *c)
{
    iosim_config_t *copy = malloc(sizeof *copy);
    if (copy)
        memcpy(copy, c, sizeof *copy);
    return copy;
}

void iosim_config_free(iosim_config_t *c) { free(c); }

/* ------------------------------------------------------------------ */
/* Nearest key (for "did you mean")                                    */
/* ------------------------------------------------------------------ */

/* Optimal-string-alignment distance: edits plus adjacent swaps, so
 * "iotbl" is one edit from "iotlb".  A distance of bound or more is
 * returned as SIZE_MAX as soon as two consecutive rows are all >= bound
 * (a cell is at least the smallest of the two rows above it). */
static size_t edit_distance(const char *a, const char *b, size_t bound)
{
    size_t n = strlen(a), m = strlen(b);
    if (n >= PATH_MAX_LEN || m >= PATH_MAX_LEN)
        return SIZE_MAX;
    size_t rows[3][PATH_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    size_t prev_min = 0;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        size_t cur_min = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
            if (best < cur_min)
                cur_min = best;
        }
        if (cur_min >= bound && prev_min >= bound)
            return SIZE_MAX;
        prev_min = cur_min;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m] >= bound ? SIZE_MAX : prev[m];
}

/* The known path or group nearest to path, or NULL if none is close:
 * allowed distance grows with the last component, 1 to 3 edits. */
static const char *suggest(const char *path, char *buf, size_t n)
{
    const char *leaf = strrchr(path, '.');
    leaf = leaf ? leaf + 1 : path;
    size_t limit = strlen(leaf) / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    /* a candidate further than limit is never suggested: measure only
     * up to there (the first nearest candidate wins) */
    size_t best = limit + 1, plen = strlen(path);
    char cand[PATH_MAX_LEN];
    FOR_EACH_PARAM(p)
    {
        /* the path itself and each of its groups */
        snprintf(cand, sizeof cand, "%s", p->path);
        for (;;) {
            /* the distance is at least the difference in length: a
             * candidate that cannot beat best is not measured */
            size_t clen = strlen(cand);
            size_t d = (plen > clen ? plen - clen : clen - plen) >= best
                           ? SIZE_MAX
                           : edit_distance(path, cand, best);
            if (d < best) {
                best = d;
                snprintf(buf, n, "%s", cand);
            }
            char *dot = strrchr(cand, '.');
            if (!dot)
                break;
            *dot = '\0';
        }
    }
    return best <= limit ? buf : NULL;
}

const char *config_suggest(const char *path, char *buf, size_t n)
{
    return suggest(path, buf, n);
}

/* ------------------------------------------------------------------ */
/* YAML loading                                                        */
/* ------------------------------------------------------------------ */

typedef struct load_ctx {
    const char *file;
    yaml_document_t *doc;
    iosim_config_t *cfg;
    iosim_err_t *err;
    /* parameters assigned so far, to catch the same key given twice in
     * different spellings (nested and dotted) */
    const iosim_param_t **seen;
    size_t nseen, capseen;
    /* iosim_config_key_position: the key looked for and where it is */
    const char *want;
    bool found;
    yaml_mark_t found_at;
} load_ctx_t;

static int at(load_ctx_t *x, yaml_mark_t m, const char *path, const char *msg)
{
    if (path && path[0])
        return iosim_err_set(x->err, "%s:%zu:%zu: %s: %s", x->file, m.line + 1,
                             m.column + 1, path, msg);
    return iosim_err_set(x->err, "%s:%zu:%zu: %s", x->file, m.line + 1,
                         m.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

/* A plain empty / ~ / null scalar stands for "nothing here". */
static bool is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static bool scalar_has_nul(const yaml_node_t *n)
{
    return strlen((const char *)n->data.scalar.value) != n->data.scalar.length;
}

static int note_assigned(load_ctx_t *x, const iosim_param_t *p)
{
    for (size_t i = 0; i < x->nseen; i++)
        if (x->seen[i] == p)
            return 1;
    if (x->nseen == x->capseen) {
        size_t cap = x->capseen ? 2 * x->capseen : 32;
        const iosim_param_t **s = realloc(x->seen, cap * sizeof *s);
        if (!s)
            return -1;
        x->seen = s;
        x->capseen = cap;
    }
    x->seen[x->nseen++] = p;
    return 0;
}

static int load_mapping(load_ctx_t *x, yaml_node_t *map, const char *prefix);

static int load_pair(load_ctx_t *x, yaml_node_pair_t *pair, yaml_node_t *map,
                     const char *prefix)
{
    yaml_node_t *key = yaml_document_get_node(x->doc, pair->key);
    yaml_node_t *val = yaml_document_get_node(x->doc, pair->value);
    if (!key || !val)
        return at(x, map->start_mark, prefix, "malformed mapping");
    if (key->type != YAML_SCALAR_NODE || scalar_has_nul(key))
        return at(x, key->start_mark, prefix, "expected a plain key");

    const char *k = (const char *)key->data.scalar.value;
    /* An empty top-level key would name the root group itself, and an
     * anchored root aliased under it (&a {"": *a}) would recurse forever. */
    if (k[0] == '\0')
        return at(x, key->start_mark, prefix, "empty key");
    char path[PATH_MAX_LEN];
    int len = prefix[0] ? snprintf(path, sizeof path, "%s.%s", prefix, k)
                        : snprintf(path, sizeof path, "%s", k);
    if (len < 0 || (size_t)len >= sizeof path)
        return at(x, key->start_mark, prefix, "key too long");

    /* the same key earlier in this mapping */
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
        if (qk && qk->type == YAML_SCALAR_NODE &&
            strcmp((const char *)qk->data.scalar.value, k) == 0)
            return at(x, key->start_mark, path, "duplicate key");
    }

    const iosim_param_t *p = iosim_param_find(path);
    if (p && x->want && !x->found) {
        size_t wl = strlen(x->want);
        if (strncmp(path, x->want, wl) == 0 &&
            (path[wl] == '\0' || path[wl] == '.')) {
            x->found = true;
            x->found_at = key->start_mark;
        }
    }
    if (p) {
        if (val->type != YAML_SCALAR_NODE) {
            char msg[64];
            snprintf(msg, sizeof msg, "expected a scalar value, got %s",
                     node_kind(val));
            return at(x, val->start_mark, path, msg);
        }
        int seen = note_assigned(x, p);
        if (seen < 0)
            return at(x, key->start_mark, path, "out of memory");
        if (seen > 0)
            return at(x, key->start_mark, path, "duplicate key");
        if (scalar_has_nul(val))
            return at(x, val->start_mark, path, "value contains a NUL byte");
        char why[WHY_LEN];
        if (iosim_param_assign(x->cfg, p, (const char *)val->data.scalar.value,
                               why, sizeof why) != 0)
            return at(x, val->start_mark, path, why);
        return 0;
    }
    if (is_group(path)) {
        if (val->type == YAML_MAPPING_NODE)
            return load_mapping(x, val, path);
        if (is_null_scalar(val))
            return 0;
        char msg[64];
        snprintf(msg, sizeof msg, "expected a mapping, got %s", node_kind(val));
        return at(x, val->start_mark, path, msg);
    }
    char near[PATH_MAX_LEN], msg[PATH_MAX_LEN + 64];
    if (suggest(path, near, sizeof near))
        snprintf(msg, sizeof msg, "unknown key (did you mean %s?)", near);
    else
        snprintf(msg, sizeof msg, "unknown key");
    return at(x, key->start_mark, path, msg);
}

static int load_mapping(load_ctx_t *x, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
        if (load_pair(x, pair, map, prefix) != 0)
            return -1;
    return 0;
}

static int yaml_error(const char *file, const yaml_parser_t *ps,
                      iosim_err_t *err)
{
    const char *problem = ps->problem ? ps->problem : "invalid YAML";
    switch (ps->error) {
    case YAML_MEMORY_ERROR:
        return iosim_err_set(err, "%s: out of memory while parsing", file);
    case YAML_READER_ERROR:
        /* bytes that are not text (invalid UTF-8, a control character):
         * a binary file given as the config */
        return iosim_err_set(err, "%s: not a YAML file (byte %zu: %s)", file,
                             ps->problem_offset, problem);
    default:
        if (ps->context)
            return iosim_err_set(
                err, "%s:%zu:%zu: %s (%s)", file, ps->problem_mark.line + 1,
                ps->problem_mark.column + 1, problem, ps->context);
        return iosim_err_set(err, "%s:%zu:%zu: %s", file,
                             ps->problem_mark.line + 1,
                             ps->problem_mark.column + 1, problem);
    }
}

static int config_load(iosim_config_t *c, const char *path, const char *want,
                       yaml_mark_t *found_at, iosim_err_t *err);

int iosim_config_load(iosim_config_t *c, const char *path, iosim_err_t *err)
{
    return config_load(c, path, NULL, NULL, err);
}

int iosim_config_key_position(const char *path, const char *key, size_t *line,
                              size_t *col)
{
    iosim_config_t *scratch = iosim_config_new();
    iosim_err_t err;
    yaml_mark_t m = {0};
    int rc = scratch ? config_load(scratch, path, key, &m, &err) : -1;
    iosim_config_free(scratch);
    if (rc != 0)
        return -1;
    *line = m.line + 1;
    *col = m.column + 1;
    return 0;
}

/* Limits for hostile input: libyaml's parse time grows with
 * the square of the nesting depth of flow collections ([[[[...]]]]: 40 k
 * levels in 80 KB took 6 s), and its memory with the size.  A config is
 * a few KB (configs/vtd.yaml: 20 KB) and nests 4 levels (dev.mlx5.x is
 * the deepest key), so 1 MiB and 64 levels leave room for comments and
 * layout while bounding the parse to milliseconds. */
#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_DEPTH 64

/* A zstd frame (a trace given as --config) or a NUL byte: not YAML text,
 * said before libyaml would report a byte it cannot decode. */
static int config_check_text(const char *path, const unsigned char *t,
                             size_t len, iosim_err_t *err)
{
    static const unsigned char zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (len >= 4 && memcmp(t, zstd_magic, 4) == 0)
        return iosim_err_set(err,
                             "%s: not a YAML file (zstd-compressed: a "
                             "trace goes last on the command line)",
                             path);
    const unsigned char *nul = memchr(t, 0, len);
    if (nul)
        return iosim_err_set(err,
                             "%s: not a YAML file (a NUL byte at byte "
                             "%zu: binary)",
                             path, (size_t)(nul - t));
    return 0;
}

/* The whole file (a FIFO or /dev/stdin too), at most CONFIG_MAX_BYTES. */
static int config_read_bounded(FILE *f, const char *path, unsigned char **out,
                               size_t *len, iosim_err_t *err)
{
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return iosim_err_set(err, "%s: out of memory", path);
    for (;;) {
        if (n == cap) {
            if (cap > CONFIG_MAX_BYTES) {
                /* a trace given as the config is large too: say so */
                int binary = config_check_text(path, buf, n, err);
                free(buf);
                if (binary)
                    return -1;
                return iosim_err_set(err,
                                     "%s: larger than %u bytes (a "
                                     "config is a few KB)",
                                     path, CONFIG_MAX_BYTES);
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return iosim_err_set(err, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return iosim_err_set(err, "%s: read error: %s", path, strerror(errno));
    }
    if (n > CONFIG_MAX_BYTES) {
        int binary = config_check_text(path, buf, n, err);
        free(buf);
        if (binary)
            return -1;
        return iosim_err_set(err,
                             "%s: larger than %u bytes (a config is a "
                             "few KB)",
                             path, CONFIG_MAX_BYTES);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Nesting depth before libyaml sees the text: flow brackets outside
 * quotes and comments, and block indentation steps (one level per
 * deeper indentation than every open one). */
static int config_check_depth(const char *path, const unsigned char *t,
                              size_t n, iosim_err_t *err)
{
    unsigned flow = 0, line = 1, col = 1;
    char quote = 0;
    bool comment = false, line_start = true;
    unsigned indent = 0, nind = 0;
    unsigned ind[CONFIG_MAX_DEPTH + 1];
    for (size_t i = 0; i < n; i++, col++) {
        unsigned char ch = t[i];
        if (ch == '\n') {
            line++;
            col = 0;
            comment = false;
            line_start = true;
            indent = 0;
            continue;
        }
        if (line_start) {
            if (ch == ' ') {
                indent++;
                continue;
            }
            line_start = false;
            if (ch != '#' && !flow && !quote) {
                while (nind && ind[nind - 1] > indent)
                    nind--;
                if (!nind || ind[nind - 1] < indent)
                    ind[nind++] = indent;
                /* "- - - x": each dash opens a sequence on this line */
                unsigned dashes = 0;
                for (size_t j = i; j + 1 < n && t[j] == '-' &&
                                   (t[j + 1] == ' ' || t[j + 1] == '\t');
                     j += 2)
                    dashes++;
                if (nind + dashes > CONFIG_MAX_DEPTH)
                    return iosim_err_set(err,
                                         "%s:%u:%u: nested deeper than "
                                         "%d levels",
                                         path, line, col, CONFIG_MAX_DEPTH);
            }
        }
        if (comment)
            continue;
        if (quote) {
            if (ch == '\\' && quote == '"')
                i++, col++;
            else if (ch == (unsigned char)quote)
                quote = 0;
            continue;
        }
        if (ch == '#' && (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t'))
            comment = true;
        else if (ch == '"' || ch == '\'')
            quote = (char)ch;
        else if (ch == '[' || ch == '{') {
            if (++flow > CONFIG_MAX_DEPTH)
                return iosim_err_set(err,
                                     "%s:%u:%u: nested deeper than %d "
                                     "levels",
                                     path, line, col, CONFIG_MAX_DEPTH);
        } else if ((ch == ']' || ch == '}') && flow) {
            flow--;
        }
    }
    return 0;
}

int config_yaml_parse(const char *path, yaml_document_t *doc, iosim_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return iosim_err_set(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return iosim_err_set(err, "%s: is a directory", path);
    }

    size_t len = 0;
    unsigned char *text = NULL;
    int rc = config_read_bounded(f, path, &text, &len, err) ||
             config_check_text(path, text, len, err) ||
             config_check_depth(path, text, len, err);
    fclose(f);
    if (rc) {
        free(text);
        return -1;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return iosim_err_set(err, "%s: out of memory", path);
    }
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, doc)) {
        rc = yaml_error(path, &parser, err);
    } else if (yaml_document_get_root_node(doc)) {
        /* a second document would be silently ignored otherwise */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = yaml_error(path, &parser, err);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&next);
            if (r2)
                rc = iosim_err_set(err,
                                   "%s:%zu:%zu: only one YAML document "
                                   "is allowed",
                                   path, r2->start_mark.line + 1,
                                   r2->start_mark.column + 1);
            yaml_document_delete(&next);
        }
        if (rc)
            yaml_document_delete(doc);
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

/* Loads path over c; with want, also finds that key (found_at; returns
 * 1 when the file loads but does not name it). */
static int config_load(iosim_config_t *c, const char *path, const char *want,
                       yaml_mark_t *found_at, iosim_err_t *err)
{
    yaml_document_t doc;
    if (config_yaml_parse(path, &doc, err))
        return -1;

    /* Work on a copy: a file with an error changes nothing. */
    int rc = 0;
    iosim_config_t work = *c;
    load_ctx_t x = {
        .file = path, .doc = &doc, .cfg = &work, .err = err, .want = want};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        if (root->type == YAML_MAPPING_NODE)
            rc = load_mapping(&x, root, "");
        else if (!is_null_scalar(root))
            rc = at(&x, root->start_mark, NULL,
                    "expected a mapping at the top level");
    }
    free(x.seen);
    if (rc == 0)
        *c = work;
    if (rc == 0 && want) {
        if (x.found)
            *found_at = x.found_at;
        else
            rc = 1;
    }
    yaml_document_delete(&doc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* --set                                                               */
/* ------------------------------------------------------------------ */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, n - lead + 1);
}

int iosim_config_set(iosim_config_t *c, const char *assignment,
                     iosim_err_t *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        char q[QUOTE_MAX + 8];
        quote(assignment, q, sizeof q);
        return iosim_err_set(err, "--set: expected key=value, got %s", q);
    }
    char key[PATH_MAX_LEN], value[PATH_MAX_LEN];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key || strlen(eq + 1) >= sizeof value)
        return iosim_err_set(err, "--set: assignment too long");
    memcpy(key, assignment, klen);
    key[klen] = '\0';
    snprintf(value, sizeof value, "%s", eq + 1);
    trim(key);
    trim(value);

    const iosim_param_t *p = iosim_param_find(key);
    if (!p) {
        /* the same nearest key the YAML loader suggests */
        char near[PATH_MAX_LEN];
        if (suggest(key, near, sizeof near) && strcmp(near, key) != 0)
            return iosim_err_set(err,
                                 "--set %s: no such key (did you mean "
                                 "%s?)",
                                 key, near);
        return iosim_err_set(err, "--set %s: no such key", key);
    }
    char why[WHY_LEN];
    if (iosim_param_assign(c, p, value, why, sizeof why) != 0)
        return iosim_err_set(err, "--set %s: %s", key, why);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static int check_cache(const iosim_cache_params_t *cp, const char *name,
                       iosim_err_t *err)
{
    if (!cp->enabled)
        return 0;
    if ((uint64_t)cp->sets * cp->ways == 0)
        return iosim_err_key(err, name,
                             "sets x ways is 0 (%" PRIu32 " x %" PRIu32
                             ") but the cache is enabled",
                             cp->sets, cp->ways);
    char key[96];
    snprintf(key, sizeof key, "%s.sets", name);
    if (!is_pow2(cp->sets))
        return iosim_err_key(err, key,
                             "%" PRIu32 " is not a power of two "
                             "(the set index is a bit field)",
                             cp->sets);
    snprintf(key, sizeof key, "%s.ways", name);
    if (strcmp(cp->replacement, "plru") == 0 && !is_pow2(cp->ways))
        return iosim_err_key(err, key,
                             "%" PRIu32 " is not a power of two, "
                             "which tree pseudo-LRU needs",
                             cp->ways);
    return 0;
}

size_t iosim_config_diff(const iosim_config_t *base, const iosim_config_t *c,
                         iosim_config_diff_fn fn, void *arg)
{
    size_t n = 0;
    FOR_EACH_PARAM(p)
    {
        char a[PATH_MAX_LEN], b[PATH_MAX_LEN];
        iosim_param_format(base, p, a, sizeof a);
        iosim_param_format(c, p, b, sizeof b);
        if (strcmp(a, b) != 0) {
            fn(p->path, b, arg);
            n++;
        }
    }
    return n;
}

int iosim_config_validate(const iosim_config_t *c, iosim_err_t *err)
{
    /* Every value once more against its row: catches values written into
     * the struct directly by a program rather than through assign. */
    FOR_EACH_PARAM(p)
    {
        char text[PATH_MAX_LEN], why[WHY_LEN];
        iosim_config_t probe = *c;
        iosim_param_format(c, p, text, sizeof text);
        if (iosim_param_assign(&probe, p, text, why, sizeof why) != 0)
            return iosim_err_key(err, p->path, "%s", why);
    }

    static const struct {
        const char *name;
        size_t offset;
    } caches[] = {
#define IOSIM_X_CACHE(id, name, field, seed)                                   \
    {name, offsetof(struct iosim_config, field)},
        IOSIM_VTD_CACHES(IOSIM_X_CACHE)
#undef IOSIM_X_CACHE
    };
    uint32_t e = c->vtd.iotlb_entries;
    if (e && c->vtd.iotlb.ways && e % c->vtd.iotlb.ways)
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " is not "
                             "a multiple of vtd.iotlb.ways (%" PRIu32 ")",
                             e, c->vtd.iotlb.ways);
    if (e && (uint64_t)c->vtd.iotlb.sets * c->vtd.iotlb.ways != e)
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " but "
                             "vtd.iotlb.sets x ways is %" PRIu32 " x %" PRIu32
                             " (give sets or entries, not both)",
                             e, c->vtd.iotlb.sets, c->vtd.iotlb.ways);
    if (e && !is_pow2(c->vtd.iotlb.sets))
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " / %" PRIu32 " ways = %" PRIu32
                             " sets, not a power "
                             "of two (the set index is a bit field)",
                             e, c->vtd.iotlb.ways, c->vtd.iotlb.sets);
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const iosim_cache_params_t *cp =
            (const iosim_cache_params_t *)((const char *)c + caches[i].offset);
        if (check_cache(cp, caches[i].name, err) != 0)
            return -1;
    }

    /* MODEL.md §3.2: first stage 4 or 5 levels; second stage agaw+2. */
    if (c->vtd.fs_levels != 4 && c->vtd.fs_levels != 5)
        return iosim_err_key(err, "vtd.fs_levels", "%" PRIu32 " is not 4 or 5",
                             c->vtd.fs_levels);
    if (c->vtd.ss_levels < 3 || c->vtd.ss_levels > 5)
        return iosim_err_key(err, "vtd.ss_levels",
                             "%" PRIu32 " is not 3, 4 or 5", c->vtd.ss_levels);
    /* First-stage and nested translation are selected by the PGTT field of
     * a scalable-mode PASID entry (MODEL.md §3.1); legacy context entries
     * only know second-stage and pass-through. */
    if ((strcmp(c->vtd.translation, "first-stage") == 0 ||
         strcmp(c->vtd.translation, "nested") == 0) &&
        strcmp(c->vtd.root_mode, "scalable") != 0)
        return iosim_err_key(err, "vtd.translation",
                             "%s needs vtd.root_mode "
                             "scalable (PGTT is a PASID-entry field)",
                             c->vtd.translation);
    /* dma-iommu.c masks the ring index with size-1 (MODEL.md §1.4). */
    if (!is_pow2(c->os.fq_size))
        return iosim_err_key(err, "os.fq_size",
                             "%" PRIu32 " is not a power of two",
                             c->os.fq_size);
    if (strcmp(c->dev.model, "auto") && strcmp(c->dev.model, "none") &&
        !dev_model_find(c->dev.model)) {
        char names[256];
        iosim_registry_names("dev.model", names, sizeof names);
        return iosim_err_key(err, "dev.model",
                             "unknown device model '%s' "
                             "(one of %s)",
                             c->dev.model, names);
    }
    if (!os_policy_find(c->os.policy)) {
        char names[512];
        iosim_registry_names("os.policy", names, sizeof names);
        return iosim_err_key(err, "os.policy",
                             "unknown policy '%s' (one "
                             "of %s)",
                             c->os.policy, names);
    }
    if (!hv_mode_find(c->hv.mode)) {
        char names[512];
        iosim_registry_names("hv.mode", names, sizeof names);
        return iosim_err_key(err, "hv.mode",
                             "unknown mode '%s' (one of "
                             "%s)",
                             c->hv.mode, names);
    }
    /* Nested translation (PGTT=011b) needs a host second stage under the
     * guest's first stage, which only a two_stage mode builds (hv.h).  Any
     * other mode would translate the guest's IOVAs with an empty host stage
     * (every DMA a fault), so the contradiction is an error, not a silent
     * run. */
    if (strcmp(c->vtd.translation, "nested") == 0 &&
        !hv_mode_find(c->hv.mode)->two_stage) {
        char names[128];
        hv_mode_names_two_stage(names, sizeof names);
        return iosim_err_key(err, "vtd.translation",
                             "nested needs hv.mode %s "
                             "(hv.mode %s translates with one stage)",
                             names, c->hv.mode);
    }
    /* what the selected policy and mode require (their validate hooks) */
    return iosim_plugins_validate(c, err);
}

/* ------------------------------------------------------------------ */
/* Echo                                                                */
/* ------------------------------------------------------------------ */

/* Length of the common group prefix of two paths, in components. */
static size_t common_groups(const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; a[i] && a[i] == b[i]; i++)
        if (a[i] == '.')
            n++;
    return n;
}

static size_t count_dots(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

static void indent(FILE *out, size_t level)
{
    for (size_t i = 0; i < level; i++)
        fputs("  ", out);
}

/* One nested object; relies on each group's rows being contiguous in the
 * tables (checked by the unit test) so that no key repeats. */
static void write_json(const iosim_config_t *c, FILE *out)
{
    const char *prev = NULL;
    size_t depth = 0; /* open groups below the top-level object */
    fputs("{", out);
    FOR_EACH_PARAM(p)
    {
        size_t keep = prev ? common_groups(prev, p->path) : 0;
        size_t groups = count_dots(p->path);
        if (keep > depth)
            keep = depth;
        while (depth > keep) {
            fputc('\n', out);
            indent(out, depth);
            fputc('}', out);
            depth--;
        }
        if (prev)
            fputc(',', out);
        /* open the groups this row adds */
        const char *comp = p->path;
        for (size_t g = 0; g < groups; g++) {
            const char *dot = strchr(comp, '.');
            if (g >= depth) {
                fputc('\n', out);
                indent(out, depth + 1);
                fprintf(out, "\"%.*s\": {", (int)(dot - comp), comp);
                depth++;
            }
            comp = dot + 1;
        }
        fputc('\n', out);
        indent(out, depth + 1);
        fprintf(out, "\"%s\": ", comp);
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        if (p->type == IOSIM_P_STR)
            json_write_string(out, val);
        else
            fputs(val, out);
        prev = p->path;
    }
    while (depth > 0) {
        fputc('\n', out);
        indent(out, depth);
        fputc('}', out);
        depth--;
    }
    fputs("\n}\n", out);
}

void iosim_config_write(const iosim_config_t *c, FILE *out, iosim_format_t fmt)
{
    if (fmt == IOSIM_FMT_JSON) {
        write_json(c, out);
        return;
    }
    FOR_EACH_PARAM(p)
    {
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        if (fmt == IOSIM_FMT_CSV) {
            fprintf(out, "%s,", p->path);
            csv_write_field(out, val);
            fputc('\n', out);
        } else {
            char kv[2 * PATH_MAX_LEN];
            snprintf(kv, sizeof kv, "%s = %s", p->path, val);
            fprintf(out, "%-40s  # %s\n", kv, p->help);
        }
    }
}

void config_each(const iosim_config_t *c, config_each_fn fn, void *arg)
{
    FOR_EACH_PARAM(p)
    {
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        fn(p->path, val, p->type, arg);
    }
}

static const char *type_name(iosim_ptype_t t)
{
    switch (t) {
    case IOSIM_P_BOOL:
        return "bool";
    case IOSIM_P_U32:
        return "u32";
    case IOSIM_P_U64:
        return "u64";
    case IOSIM_P_F64:
        return "f64";
    case IOSIM_P_STR:
        return "string";
    }
    return "?";
}

/* Table cell: a '|' inside would split the column. */
static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
    fputs(" |", out);
}

/* Does path fall under filter: the key itself or a group of it
 * (vtd.iotlb matches vtd.iotlb.sets), or with substring, anywhere in it. */
static bool ref_match(const char *path, const char *filter, bool substring)
{
    if (!filter)
        return true;
    if (substring)
        return strstr(path, filter) != NULL;
    size_t n = strlen(filter);
    return !strncmp(path, filter, n) && (path[n] == '\0' || path[n] == '.');
}

void iosim_config_write_reference(FILE *out)
{
    iosim_config_write_reference_matching(out, NULL);
}

bool iosim_config_suggest_key(const char *key, char *buf, size_t n)
{
    return suggest(key, buf, n) != NULL && strcmp(buf, key) != 0;
}

size_t iosim_config_write_reference_matching(FILE *out, const char *filter)
{
    /* a key or group first; failing that, any key containing the text */
    bool substring = true;
    FOR_EACH_PARAM(p)
    {
        if (ref_match(p->path, filter, false)) {
            substring = false;
            break;
        }
    }
    size_t rows = 0;
    FOR_EACH_PARAM(p)
    {
        if (ref_match(p->path, filter, substring))
            rows++;
    }
    if (rows == 0)
        return 0;
    fputs("| name | type | default | range / choices | help | source |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    FOR_EACH_PARAM(p)
    {
        if (!ref_match(p->path, filter, substring))
            continue;
        char range[256], names[256];
        if (p->type == IOSIM_P_STR) {
            /* a selector's choices are its registry's names */
            const char *choices =
                p->choices ? p->choices
                : iosim_registry_names(p->path, names, sizeof names) ? names
                                                                     : NULL;
            if (choices) {
                /* "a|b|c" -> "a, b, c" (no pipes inside a table cell) */
                size_t j = 0;
                for (const char *s = choices; *s && j + 3 < sizeof range; s++) {
                    if (*s == '|') {
                        range[j++] = ',';
                        range[j++] = ' ';
                    } else {
                        range[j++] = *s;
                    }
                }
                range[j] = '\0';
            } else {
                snprintf(range, sizeof range, "registered name");
            }
        } else if (p->type == IOSIM_P_BOOL) {
            snprintf(range, sizeof range, "true, false");
        } else if (has_range(p)) {
            char lo[32], hi[32];
            format_number(p->min, lo, sizeof lo);
            format_number(p->max, hi, sizeof hi);
            snprintf(range, sizeof range, "[%s, %s]", lo, hi);
        } else {
            snprintf(range, sizeof range, "any");
        }
        fputs("|", out);
        cell(out, p->path);
        cell(out, type_name(p->type));
        cell(out, p->def ? p->def : "(required)");
        cell(out, range);
        cell(out, p->help);
        cell(out, p->source);
        fputc('\n', out);
    }
    return rows;
}
