/* config_codec.c — a parameter's text <-> typed value, and "did you mean".
 *
 * One conversion for the defaults, the YAML loader and --set: the type,
 * the range and the choices of the row are checked the same way on every
 * route, and the messages say what was expected and quote what was got.
 * Unsigned integers accept decimal or 0x hex with an optional binary
 * K/M/G suffix (4K = 4096); booleans true/false/yes/no/on/off.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"

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

void config_format_number(double v, char *buf, size_t n)
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

void config_quote(const char *text, char *buf, size_t n)
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
    config_format_number(p->min, lo, sizeof lo);
    config_format_number(p->max, hi, sizeof hi);
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
    config_quote(text, q, sizeof q);
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
        if (config_has_range(p) && ((double)v < p->min || (double)v > p->max))
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
        if (config_has_range(p) && (v < p->min || v > p->max)) {
            char vs[32];
            config_format_number(v, vs, sizeof vs);
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

/* The checks of param_assign on the text iosim_param_format makes of the
 * field, without the text, where the answer is certain: integers are
 * formatted in decimal and read back unchanged, a bool as true/false, a
 * finite normal (or zero) double by its shortest round-tripping %g form
 * (format_double), a string up to its NUL (IOSIM_NAME_LEN < PATH_MAX_LEN:
 * the format does not cut it).  False means "ask param_assign": a value
 * out of range, a subnormal or non-finite double, a string not among the
 * choices or without its NUL. */
_Static_assert(IOSIM_NAME_LEN < PATH_MAX_LEN, "a name fits the format");
bool config_param_ok(const iosim_config_t *c, const iosim_param_t *p)
{
    const void *field = cfield_of(c, p);
    switch (p->type) {
    case IOSIM_P_BOOL:
        return true;
    case IOSIM_P_U32:
    case IOSIM_P_U64: {
        uint64_t v = p->type == IOSIM_P_U32 ? *(const uint32_t *)field
                                            : *(const uint64_t *)field;
        return !config_has_range(p) ||
               !((double)v < p->min || (double)v > p->max);
    }
    case IOSIM_P_F64: {
        double v = *(const double *)field;
        if (!isfinite(v) || (v != 0 && fabs(v) < DBL_MIN))
            return false;
        return !config_has_range(p) || !(v < p->min || v > p->max);
    }
    case IOSIM_P_STR: {
        const char *text = field;
        return strnlen(text, IOSIM_NAME_LEN) < IOSIM_NAME_LEN &&
               (!p->choices || in_choices(p->choices, text));
    }
    }
    return false;
}

size_t config_param_image(const iosim_config_t *c, const iosim_param_t *p,
                          unsigned char *buf)
{
    const void *field = cfield_of(c, p);
    switch (p->type) {
    case IOSIM_P_BOOL:
        buf[0] = *(const bool *)field ? 1 : 0;
        return 1;
    case IOSIM_P_U32:
        memcpy(buf, field, sizeof(uint32_t));
        return sizeof(uint32_t);
    case IOSIM_P_U64:
        memcpy(buf, field, sizeof(uint64_t));
        return sizeof(uint64_t);
    case IOSIM_P_F64:
        memcpy(buf, field, sizeof(double));
        return sizeof(double);
    case IOSIM_P_STR: {
        size_t n = strnlen(field, IOSIM_NAME_LEN);
        memcpy(buf, field, n);
        buf[n] = '\0';
        return n + 1;
    }
    }
    return 0;
}

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
const char *config_suggest(const char *path, char *buf, size_t n)
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

bool iosim_config_suggest_key(const char *key, char *buf, size_t n)
{
    return config_suggest(key, buf, n) != NULL && strcmp(buf, key) != 0;
}
