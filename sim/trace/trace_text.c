/* trace_text.c — the line-per-record text form of iosim traces.
 *
 * Concepts:
 *   - One record per line: KIND then key=value fields (traces/FORMAT.md §5).
 *     Each key names one field of iosim_rec_t (a *slot*); a few keys are
 *     kind-specific aliases with a friendlier syntax (MAP phys/prot, DMA
 *     dir, INVAL addr/qw0/ih, MARK id/type).  The generic keys (iova, size,
 *     aux, flags, ...) are accepted on every kind, so any 48-byte record
 *     has a text spelling and binary -> text -> binary is byte-exact.
 *   - The writer prints the kind's canonical field list (every field, even
 *     zero, in a fixed order) and then any other non-zero field under its
 *     generic key.  Its output is the *normalized* text: parsing it and
 *     writing it again gives the same line.
 *   - Metadata travels as "#meta key=value" lines after the header line.
 * Assumptions:
 *   - Numbers are decimal or 0x-hex, unsigned, and must fit the field.
 *   - A record line may end with a "# comment".
 * Not modeled: nothing (format code only).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "trace/trace_internal.h"

/* ------------------------------------------------------------------ */
/* Kind and enumeration names                                          */
/* ------------------------------------------------------------------ */
static const char *const kind_names[IOSIM_REC_KIND_MAX + 1] = {
    NULL, "MAP", "UNMAP", "DMA", "INVAL", "MARK",
};

const char *iosim_rec_kind_name(unsigned kind)
{
    if (kind >= 1 && kind <= IOSIM_REC_KIND_MAX)
        return kind_names[kind];
    return "UNKNOWN";
}

/* Indexed by iosim_desc_type_t (VT-d §6.5.2 descriptor types). */
static const char *const desc_names[] = {
    NULL, "cc", "iotlb", "devtlb", "iec", "wait", "piotlb", "pc", "pdevtlb",
};
#define DESC_NAME_COUNT (sizeof desc_names / sizeof desc_names[0])

/* Indexed by IOSIM_GRAN_* */
static const char *const gran_names[] = {NULL, "global", "domain", "page"};
#define GRAN_NAME_COUNT (sizeof gran_names / sizeof gran_names[0])

/* MAP prot (flags & 3) */
static const char *const prot_names[] = {"none", "r", "w", "rw"};
/* DMA direction (flags & 1): IOSIM_DMA_READ 0, IOSIM_DMA_WRITE 1 */
static const char *const dir_names[] = {"read", "write"};
/* MARK type: IOSIM_MARK_REQUEST 0, _BEGIN 1, _END 2, _REPOST 3 */
static const char *const mtype_names[] = {"request", "begin", "end", "repost"};
static const char *const ih_names[] = {"0", "1"};

/* ------------------------------------------------------------------ */
/* Field slots and keys                                                */
/* ------------------------------------------------------------------ */
typedef enum slot {
    SL_T,
    SL_IOVA,
    SL_SIZE,
    SL_AUX,
    SL_PASID,
    SL_DEV,
    SL_DOM,
    SL_CPU,
    SL_FLAGS,
    SL_DESC,
    SL_GRAN,
    SL_AM,
    SL_RSV,
    SL_COUNT
} slot_t;

static uint64_t slot_get(const iosim_rec_t *r, slot_t s)
{
    switch (s) {
    case SL_T:
        return r->t;
    case SL_IOVA:
        return r->iova;
    case SL_SIZE:
        return r->size;
    case SL_AUX:
        return r->aux;
    case SL_PASID:
        return r->pasid;
    case SL_DEV:
        return r->device;
    case SL_DOM:
        return r->domain;
    case SL_CPU:
        return r->cpu;
    case SL_FLAGS:
        return r->flags;
    case SL_DESC:
        return r->desc;
    case SL_GRAN:
        return r->gran;
    case SL_AM:
        return r->am;
    case SL_RSV:
        return r->reserved;
    case SL_COUNT:
        break;
    }
    return 0;
}

/* Largest value each slot holds (its width in iosim_rec_t). */
static uint64_t slot_max(slot_t s)
{
    switch (s) {
    case SL_T:
    case SL_IOVA:
    case SL_SIZE:
    case SL_AUX:
        return UINT64_MAX;
    case SL_PASID:
        return UINT32_MAX;
    case SL_DEV:
    case SL_DOM:
    case SL_RSV:
        return UINT16_MAX;
    default:
        return UINT8_MAX;
    }
}

static void slot_set(iosim_rec_t *r, slot_t s, uint64_t v)
{
    switch (s) {
    case SL_T:
        r->t = v;
        break;
    case SL_IOVA:
        r->iova = v;
        break;
    case SL_SIZE:
        r->size = v;
        break;
    case SL_AUX:
        r->aux = v;
        break;
    case SL_PASID:
        r->pasid = (uint32_t)v;
        break;
    case SL_DEV:
        r->device = (uint16_t)v;
        break;
    case SL_DOM:
        r->domain = (uint16_t)v;
        break;
    case SL_CPU:
        r->cpu = (uint8_t)v;
        break;
    case SL_FLAGS:
        r->flags = (uint8_t)v;
        break;
    case SL_DESC:
        r->desc = (uint8_t)v;
        break;
    case SL_GRAN:
        r->gran = (uint8_t)v;
        break;
    case SL_AM:
        r->am = (uint8_t)v;
        break;
    case SL_RSV:
        r->reserved = (uint16_t)v;
        break;
    case SL_COUNT:
        break;
    }
}

/* How a key's value is spelled. */
typedef enum syntax {
    SX_DEC,   /* decimal (0x-hex accepted on input)                    */
    SX_HEX,   /* 0x-hex (decimal accepted on input)                    */
    SX_DEV,   /* bb:dd.f PCI source id (a plain number accepted)        */
    SX_NAMES, /* one of `names` (index = value); a number for others    */
} syntax_t;

typedef struct key {
    const char *name;
    slot_t slot;
    unsigned kinds; /* bit (1 << kind); 0 = every kind (generic key) */
    syntax_t syntax;
    const char *const *names; /* SX_NAMES */
    unsigned nnames;
    bool names_only; /* symbolic flags: a number is not accepted, and the
                      * writer falls back to flags=0x.. when out of range */
} text_key_t;

#define K(kind) (1u << (kind))
#define NAMES(a) a, (unsigned)(sizeof a / sizeof a[0])

// clang-format off
static const text_key_t keys[] = {
    {"t", SL_T, 0, SX_DEC, NULL, 0, false},
    {"iova", SL_IOVA, 0, SX_HEX, NULL, 0, false},
    {"size", SL_SIZE, 0, SX_DEC, NULL, 0, false},
    {"aux", SL_AUX, 0, SX_HEX, NULL, 0, false},
    {"pasid", SL_PASID, 0, SX_DEC, NULL, 0, false},
    {"dev", SL_DEV, 0, SX_DEV, NULL, 0, false},
    {"dom", SL_DOM, 0, SX_DEC, NULL, 0, false},
    {"cpu", SL_CPU, 0, SX_DEC, NULL, 0, false},
    {"flags", SL_FLAGS, 0, SX_HEX, NULL, 0, false},
    {"desc", SL_DESC, 0, SX_NAMES, NAMES(desc_names), false},
    {"gran", SL_GRAN, 0, SX_NAMES, NAMES(gran_names), false},
    {"am", SL_AM, 0, SX_DEC, NULL, 0, false},
    {"rsv", SL_RSV, 0, SX_DEC, NULL, 0, false},
    /* kind-specific aliases */
    {"phys", SL_AUX, K(IOSIM_REC_MAP), SX_HEX, NULL, 0, false},
    {"prot", SL_FLAGS, K(IOSIM_REC_MAP), SX_NAMES, NAMES(prot_names), true},
    {"dir", SL_FLAGS, K(IOSIM_REC_DMA), SX_NAMES, NAMES(dir_names), true},
    {"addr", SL_IOVA, K(IOSIM_REC_INVAL), SX_HEX, NULL, 0, false},
    {"qw0", SL_AUX, K(IOSIM_REC_INVAL), SX_HEX, NULL, 0, false},
    {"ih", SL_FLAGS, K(IOSIM_REC_INVAL), SX_NAMES, NAMES(ih_names), true},
    {"id", SL_AUX, K(IOSIM_REC_MARK), SX_DEC, NULL, 0, false},
    {"type", SL_FLAGS, K(IOSIM_REC_MARK), SX_NAMES, NAMES(mtype_names), true},
};
// clang-format on
#define KEY_COUNT (sizeof keys / sizeof keys[0])

static const text_key_t *key_find(const char *name, size_t len)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strlen(keys[i].name) == len && !memcmp(keys[i].name, name, len))
            return &keys[i];
    return NULL;
}

/* Canonical field list per kind (FORMAT.md §5.2). */
static const char *const canon_map[] = {"t",    "cpu",  "dev",  "dom",  "pasid",
                                        "iova", "size", "phys", "prot", NULL};
static const char *const canon_unmap[] = {"t",     "cpu",  "dev",  "dom",
                                          "pasid", "iova", "size", NULL};
static const char *const canon_dma[] = {"t",    "dev", "pasid", "iova",
                                        "size", "dir", NULL};
static const char *const canon_inval[] = {"t",   "cpu", "desc",  "gran",
                                          "dom", "dev", "pasid", "addr",
                                          "am",  "ih",  "qw0",   NULL};
static const char *const canon_mark[] = {"t", "cpu", "id", "type", NULL};
static const char *const *const canon[IOSIM_REC_KIND_MAX + 1] = {
    NULL, canon_map, canon_unmap, canon_dma, canon_inval, canon_mark,
};

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */
typedef struct outbuf {
    char *buf;
    size_t cap, len;
    bool overflow;
} outbuf_t;

static void out_printf(outbuf_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_printf(outbuf_t *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= o->cap - o->len)
        o->overflow = true;
    else
        o->len += (size_t)k;
}

/* Writes " key=value"; symbolic flags keys fall back to flags=0x.. when
 * the value has no name, so nothing is lost. */
static void emit(outbuf_t *o, const text_key_t *k, const iosim_rec_t *r)
{
    uint64_t v = slot_get(r, k->slot);
    switch (k->syntax) {
    case SX_DEC:
        out_printf(o, " %s=%" PRIu64, k->name, v);
        break;
    case SX_HEX:
        if (k->slot == SL_FLAGS)
            out_printf(o, " %s=0x%02" PRIx64, k->name, v);
        else
            out_printf(o, " %s=0x%" PRIx64, k->name, v);
        break;
    case SX_DEV:
        out_printf(o, " %s=%02x:%02x.%x", k->name, (unsigned)(v >> 8),
                   (unsigned)((v >> 3) & 0x1f), (unsigned)(v & 7));
        break;
    case SX_NAMES:
        if (v < k->nnames && k->names[v])
            out_printf(o, " %s=%s", k->name, k->names[v]);
        else if (k->names_only)
            out_printf(o, " flags=0x%02" PRIx64, v);
        else
            out_printf(o, " %s=%" PRIu64, k->name, v);
        break;
    }
}

int iosim_rec_to_text(const iosim_rec_t *r, char *buf, size_t n)
{
    if (!r || !buf || n == 0 || r->kind < 1 || r->kind > IOSIM_REC_KIND_MAX)
        return -1;
    outbuf_t o = {buf, n, 0, false};
    bool done[SL_COUNT] = {false};
    out_printf(&o, "%s", kind_names[r->kind]);
    for (const char *const *c = canon[r->kind]; *c; c++) {
        const text_key_t *k = key_find(*c, strlen(*c));
        emit(&o, k, r);
        done[k->slot] = true;
    }
    /* Extras: any other non-zero field, under its generic key. */
    for (size_t i = 0; i < KEY_COUNT; i++) {
        const text_key_t *k = &keys[i];
        if (k->kinds != 0 || done[k->slot] || slot_get(r, k->slot) == 0)
            continue;
        emit(&o, k, r);
        done[k->slot] = true;
    }
    if (o.overflow)
        return -1;
    return (int)o.len;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decimal or 0x-hex unsigned 64-bit number, whole string [s, s+len). */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    }
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        if (v > (UINT64_MAX - d) / base)
            return -2; /* overflow */
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* Hex number [s, s+len) of at most `digits` digits. */
static int parse_hex_part(const char *s, size_t len, size_t digits,
                          unsigned *out)
{
    if (len == 0 || len > digits)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

int trace_parse_bdf(const char *s, size_t len, uint16_t *sid)
{
    const char *end = s + len;
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return -1;
    const char *colon2 = memchr(colon + 1, ':', (size_t)(end - colon - 1));
    if (colon2) {
        /* "dddd:" PCI segment: VT-d source-ids carry none (one remapping
         * unit per segment, VT-d §8.3), so it is checked and dropped. */
        unsigned segment;
        if (parse_hex_part(s, (size_t)(colon - s), 4, &segment))
            return -1;
        s = colon + 1;
        colon = colon2;
    }
    const char *dot = memchr(colon, '.', (size_t)(end - colon));
    unsigned bus, dev, fn;
    if (!dot || parse_hex_part(s, (size_t)(colon - s), 2, &bus) ||
        parse_hex_part(colon + 1, (size_t)(dot - colon - 1), 2, &dev) ||
        parse_hex_part(dot + 1, (size_t)(end - dot - 1), 1, &fn) ||
        dev > 0x1f || fn > 7)
        return -1;
    *sid = (uint16_t)(bus << 8 | dev << 3 | fn);
    return 0;
}

/* A PCI name (trace_parse_bdf) or a plain number. */
static int parse_dev(const char *s, size_t len, uint64_t *out)
{
    if (!memchr(s, ':', len))
        return parse_u64(s, len, out);
    uint16_t sid;
    if (trace_parse_bdf(s, len, &sid))
        return -1;
    *out = sid;
    return 0;
}

static int parse_value(const text_key_t *k, const char *s, size_t len,
                       uint64_t *out)
{
    switch (k->syntax) {
    case SX_DEC:
    case SX_HEX:
        return parse_u64(s, len, out);
    case SX_DEV:
        return parse_dev(s, len, out);
    case SX_NAMES:
        for (unsigned i = 0; i < k->nnames; i++)
            if (k->names[i] && strlen(k->names[i]) == len &&
                !memcmp(k->names[i], s, len)) {
                *out = i;
                return 0;
            }
        if (k->names_only)
            return -1;
        return parse_u64(s, len, out);
    }
    return -1;
}

static int why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Returns 0 with a record in *out, 1 for a line without a record (blank
 * or comment, including "#meta"), -1 with a reason in why. */
int iosim_rec_from_text(const char *line, iosim_rec_t *out, char *why,
                        size_t whylen)
{
    const char *p = line;
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 1;
    const char *q = p;
    while (*q && !is_blank(*q))
        q++;
    unsigned kind = 0;
    for (unsigned i = 1; i <= IOSIM_REC_KIND_MAX; i++)
        if (strlen(kind_names[i]) == (size_t)(q - p) &&
            !memcmp(kind_names[i], p, (size_t)(q - p)))
            kind = i;
    if (!kind)
        return why_set(why, whylen, "unknown record kind '%.*s'",
                       (int)((q - p) > 32 ? 32 : (q - p)), p);
    iosim_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    bool seen[SL_COUNT] = {false};
    for (p = q;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            break;
        q = p;
        while (*q && !is_blank(*q))
            q++;
        int toklen = (int)((q - p) > 64 ? 64 : (q - p));
        const char *eq = memchr(p, '=', (size_t)(q - p));
        if (!eq)
            return why_set(why, whylen, "'%.*s' is not key=value", toklen, p);
        int keylen = (int)(eq - p);
        const text_key_t *k = key_find(p, (size_t)keylen);
        if (!k)
            return why_set(why, whylen, "unknown field '%.*s'",
                           keylen > 32 ? 32 : keylen, p);
        if (k->kinds && !(k->kinds & K(kind)))
            return why_set(why, whylen, "field '%s' does not apply to %s",
                           k->name, kind_names[kind]);
        if (seen[k->slot])
            return why_set(why, whylen,
                           "field '%s' given twice (directly or through an "
                           "alias)",
                           k->name);
        seen[k->slot] = true;
        uint64_t v;
        const char *val = eq + 1;
        size_t vlen = (size_t)(q - val);
        int rc = parse_value(k, val, vlen, &v);
        int vshow = (int)(vlen > 40 ? 40 : vlen);
        if (rc == -2 || (rc == 0 && v > slot_max(k->slot)))
            return why_set(why, whylen, "%s=%.*s: value out of range", k->name,
                           vshow, val);
        if (rc != 0)
            return why_set(why, whylen, "%s=%.*s: malformed value", k->name,
                           vshow, val);
        slot_set(&r, k->slot, v);
        p = q;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Metadata                                                            */
/* ------------------------------------------------------------------ */
const char *const trace_meta_keys[TRACE_META_NKEYS] = {
    "source", "kernel",    "policy",  "workload",
    "cpus",   "time_unit", "has_dma", "requests",
};

int trace_meta_format(const iosim_trace_meta_t *m, unsigned i, char *buf,
                      size_t n)
{
    switch (i) {
    case 0:
        return snprintf(buf, n, "source=%.*s", (int)sizeof m->source,
                        m->source);
    case 1:
        return snprintf(buf, n, "kernel=%.*s", (int)sizeof m->kernel,
                        m->kernel);
    case 2:
        return snprintf(buf, n, "policy=%.*s", (int)sizeof m->policy,
                        m->policy);
    case 3:
        return snprintf(buf, n, "workload=%.*s", (int)sizeof m->workload,
                        m->workload);
    case 4:
        return snprintf(buf, n, "cpus=%" PRIu32, m->cpus);
    case 5:
        return snprintf(buf, n, "time_unit=%.*s", (int)sizeof m->time_unit,
                        m->time_unit);
    case 6:
        return snprintf(buf, n, "has_dma=%" PRIu32, m->has_dma);
    case 7:
        return snprintf(buf, n, "requests=%" PRIu64, m->requests);
    default:
        /* device= only when set, so that traces without it keep their
         * bytes (FORMAT.md §3) */
        if (m->device[0] && i == TRACE_META_NKEYS)
            return snprintf(buf, n, "device=%.*s", (int)sizeof m->device,
                            m->device);
        if (m->device[0])
            i--;
        if (m->retimed[0] && i == TRACE_META_NKEYS)
            return snprintf(buf, n, "retimed=%.*s", (int)sizeof m->retimed,
                            m->retimed);
        if (m->retimed[0])
            i--;
        uint32_t refs = m->n_refs <= IOSIM_META_REFS_MAX ? m->n_refs : 0;
        if (i - TRACE_META_NKEYS < refs) {
            const struct iosim_meta_ref *r = &m->refs[i - TRACE_META_NKEYS];
            return snprintf(buf, n, "ref.%.*s=%" PRIu64, (int)sizeof r->name,
                            r->name, r->value);
        }
        i -= refs;
        /* implies.* last, only when set (FORMAT.md §3) */
        if (i - TRACE_META_NKEYS < m->n_implies &&
            m->n_implies <= IOSIM_META_IMPLIES_MAX) {
            const struct iosim_meta_imply *e =
                &m->implies[i - TRACE_META_NKEYS];
            return snprintf(buf, n, "implies.%.*s=%.*s", (int)sizeof e->key,
                            e->key, (int)sizeof e->value, e->value);
        }
        return -1;
    }
}

unsigned trace_meta_nkeys(const iosim_trace_meta_t *m)
{
    uint32_t refs = m->n_refs <= IOSIM_META_REFS_MAX ? m->n_refs : 0;
    uint32_t implies =
        m->n_implies <= IOSIM_META_IMPLIES_MAX ? m->n_implies : 0;
    return TRACE_META_NKEYS + (m->device[0] ? 1 : 0) + (m->retimed[0] ? 1 : 0) +
           refs + implies;
}

/* [a-z0-9_.]{1,max-1} */
static bool meta_name_ok(const char *name, size_t max)
{
    size_t n = strlen(name);
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.'))
            return false;
    }
    return true;
}

static bool ref_name_ok(const char *name)
{
    return meta_name_ok(name, sizeof((iosim_trace_meta_t *)0)->refs[0].name);
}

/* A configuration key: [a-z0-9_.-] (device models' names have hyphens:
 * dev.virtio-net.ring). */
static bool imply_key_ok(const char *key)
{
    char plain[sizeof((iosim_trace_meta_t *)0)->implies[0].key];
    size_t n = strlen(key);
    if (n >= sizeof plain)
        return false;
    for (size_t i = 0; i <= n; i++)
        plain[i] = key[i] == '-' ? '_' : key[i];
    return meta_name_ok(plain, sizeof plain);
}

/* At most 63 bytes, no control character (a --set value). */
static bool imply_value_ok(const char *value)
{
    size_t n = strlen(value);
    if (n >= sizeof((iosim_trace_meta_t *)0)->implies[0].value)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            return false;
    return true;
}

int iosim_trace_meta_set_implies(iosim_trace_meta_t *m, const char *key,
                                 const char *value)
{
    if (!imply_key_ok(key) || !imply_value_ok(value) ||
        m->n_implies > IOSIM_META_IMPLIES_MAX)
        return -1;
    uint32_t i = 0;
    while (i < m->n_implies && strcmp(m->implies[i].key, key))
        i++;
    if (i == IOSIM_META_IMPLIES_MAX)
        return -1;
    if (i == m->n_implies)
        m->n_implies++;
    snprintf(m->implies[i].key, sizeof m->implies[i].key, "%s", key);
    snprintf(m->implies[i].value, sizeof m->implies[i].value, "%s", value);
    return 0;
}

int iosim_trace_meta_set_ref(iosim_trace_meta_t *m, const char *name,
                             uint64_t value)
{
    if (!ref_name_ok(name) || m->n_refs > IOSIM_META_REFS_MAX)
        return -1;
    for (uint32_t i = 0; i < m->n_refs; i++)
        if (!strcmp(m->refs[i].name, name)) {
            m->refs[i].value = value;
            return 0;
        }
    if (m->n_refs == IOSIM_META_REFS_MAX)
        return -1;
    struct iosim_meta_ref *r = &m->refs[m->n_refs++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->value = value;
    return 0;
}

bool iosim_trace_meta_ref(const iosim_trace_meta_t *m, const char *name,
                          uint64_t *value)
{
    for (uint32_t i = 0; i < m->n_refs && i < IOSIM_META_REFS_MAX; i++)
        if (!strcmp(m->refs[i].name, name)) {
            if (value)
                *value = m->refs[i].value;
            return true;
        }
    return false;
}

static int meta_u32(const char *value, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(value, strlen(value), &v) || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int trace_meta_apply(iosim_trace_meta_t *m, const char *key, const char *value,
                     char *why, size_t whylen)
{
    /* Over-long strings are cut to the field size (FORMAT.md §3). */
    if (!strcmp(key, "source"))
        snprintf(m->source, sizeof m->source, "%s", value);
    else if (!strcmp(key, "kernel"))
        snprintf(m->kernel, sizeof m->kernel, "%s", value);
    else if (!strcmp(key, "policy"))
        snprintf(m->policy, sizeof m->policy, "%s", value);
    else if (!strcmp(key, "workload"))
        snprintf(m->workload, sizeof m->workload, "%s", value);
    else if (!strcmp(key, "device"))
        snprintf(m->device, sizeof m->device, "%s", value);
    else if (!strcmp(key, "retimed"))
        snprintf(m->retimed, sizeof m->retimed, "%s", value);
    else if (!strcmp(key, "time_unit")) {
        /* version 1 times are nanoseconds (FORMAT.md §3): another unit
         * would be read as ns and scale every time silently */
        if (strcmp(value, "ns") != 0)
            return why_set(why, whylen,
                           "metadata time_unit=%.20s: version 1 "
                           "traces are in ns",
                           value);
        snprintf(m->time_unit, sizeof m->time_unit, "%s", value);
    } else if (!strcmp(key, "cpus")) {
        if (meta_u32(value, &m->cpus))
            return why_set(why, whylen,
                           "metadata cpus=%.40s: malformed "
                           "value",
                           value);
    } else if (!strcmp(key, "requests")) {
        if (parse_u64(value, strlen(value), &m->requests))
            return why_set(why, whylen,
                           "metadata requests=%.40s: malformed "
                           "value",
                           value);
    } else if (!strcmp(key, "has_dma")) {
        if (meta_u32(value, &m->has_dma))
            return why_set(why, whylen,
                           "metadata has_dma=%.40s: malformed "
                           "value",
                           value);
    } else if (!strncmp(key, "ref.", 4)) {
        uint64_t v;
        if (!ref_name_ok(key + 4))
            return why_set(why, whylen,
                           "metadata %.60s: a reference name is "
                           "[a-z0-9_.], 1 to 47 characters",
                           key);
        if (parse_u64(value, strlen(value), &v))
            return why_set(why, whylen,
                           "metadata %.60s=%.40s: malformed "
                           "value",
                           key, value);
        if (iosim_trace_meta_set_ref(m, key + 4, v))
            return why_set(why, whylen,
                           "metadata %.60s: more than %d "
                           "ref.* keys",
                           key, IOSIM_META_REFS_MAX);
    } else if (!strncmp(key, "implies.", 8)) {
        if (!imply_key_ok(key + 8) || !imply_value_ok(value))
            return why_set(why, whylen,
                           "metadata %.70s: an implied setting is a "
                           "configuration key [a-z0-9_.] of 1 to 63 "
                           "characters = a value of at most 63",
                           key);
        if (iosim_trace_meta_set_implies(m, key + 8, value))
            return why_set(why, whylen,
                           "metadata %.70s: more than %d implies.* keys", key,
                           IOSIM_META_IMPLIES_MAX);
    }
    /* any other key: ignored (forward compatibility) */
    return 0;
}

static bool field_has_newline(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    return memchr(s, '\n', len) || memchr(s, '\r', len);
}

int trace_meta_check(const iosim_trace_meta_t *m, char *why, size_t whylen)
{
    if (field_has_newline(m->source, sizeof m->source) ||
        field_has_newline(m->kernel, sizeof m->kernel) ||
        field_has_newline(m->policy, sizeof m->policy) ||
        field_has_newline(m->workload, sizeof m->workload) ||
        field_has_newline(m->device, sizeof m->device) ||
        field_has_newline(m->retimed, sizeof m->retimed) ||
        field_has_newline(m->time_unit, sizeof m->time_unit))
        return why_set(why, whylen, "metadata value contains a newline");
    if (m->n_refs > IOSIM_META_REFS_MAX)
        return why_set(why, whylen, "metadata: more than %d ref.* keys",
                       IOSIM_META_REFS_MAX);
    for (uint32_t i = 0; i < m->n_refs; i++)
        if (!memchr(m->refs[i].name, '\0', sizeof m->refs[i].name) ||
            !ref_name_ok(m->refs[i].name))
            return why_set(why, whylen,
                           "metadata: reference name %u is not "
                           "[a-z0-9_.], 1 to 47 characters",
                           i);
    if (m->n_implies > IOSIM_META_IMPLIES_MAX)
        return why_set(why, whylen, "metadata: more than %d implies.* keys",
                       IOSIM_META_IMPLIES_MAX);
    for (uint32_t i = 0; i < m->n_implies; i++)
        if (!memchr(m->implies[i].key, '\0', sizeof m->implies[i].key) ||
            !memchr(m->implies[i].value, '\0', sizeof m->implies[i].value) ||
            !imply_key_ok(m->implies[i].key) ||
            !imply_value_ok(m->implies[i].value))
            return why_set(why, whylen,
                           "metadata: implied setting %u is not a "
                           "configuration key = a value of at most 63 "
                           "characters",
                           i);
    return 0;
}

int trace_text_write_header(FILE *f, const iosim_trace_meta_t *m)
{
    char buf[160];
    fprintf(f, "%s\n", TRACE_TEXT_HEADER);
    for (unsigned i = 0; i < trace_meta_nkeys(m); i++) {
        trace_meta_format(m, i, buf, sizeof buf);
        fprintf(f, "#meta %s\n", buf);
    }
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Text reader                                                         */
/* ------------------------------------------------------------------ */
static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
}

/* A text trace's line is never longer than the importers' (1 MiB: far
 * above any record, TRACE_TEXT_LINE_MAX): /dev/zero or a binary file
 * without newlines must not grow the buffer to the memory limit. */
#define TEXT_READ_LINE_MAX (1u << 20)

/* getline with a cap: the line (with its '\n', NUL-terminated) in *buf;
 * returns its length, -1 at EOF or a read error (ferror tells), -2 when
 * longer than TEXT_READ_LINE_MAX, -3 out of memory. */
static ssize_t getline_bounded(char **buf, size_t *cap, FILE *f)
{
    size_t n = 0;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF) { /* one reader per FILE */
        if (n + 2 > *cap) {
            if (n >= TEXT_READ_LINE_MAX)
                return -2;
            if (vec_reserve(buf, cap, n + 2, 256))
                return -3;
        }
        (*buf)[n++] = (char)ch;
        if (ch == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

/* Reads the next line into t->line; 1 = got one, 0 = EOF, -1 read
 * error, too long or out of memory, -2 the line holds a NUL byte
 * (binary data). */
static int next_line(trace_text_in_t *t, iosim_err_t *err)
{
    errno = 0;
    ssize_t k = getline_bounded(&t->line, &t->line_cap, t->f);
    if (k == -2)
        return iosim_err_set(err,
                             "%s:%lu: line longer than %u bytes (not "
                             "a text trace?)",
                             t->path, t->lineno + 1, TEXT_READ_LINE_MAX);
    if (k == -3)
        return iosim_err_set(err, "%s:%lu: out of memory", t->path,
                             t->lineno + 1);
    if (k < 0) {
        if (ferror(t->f))
            return iosim_err_set(err, "%s:%lu: read error: %s", t->path,
                                 t->lineno + 1,
                                 iosim_errno_str(errno ? errno : EIO));
        return 0;
    }
    t->lineno++;
    t->bytes += (uint64_t)k;
    if (memchr(t->line, '\0', (size_t)k)) {
        iosim_err_set(err, "%s:%lu: NUL byte in text trace", t->path,
                      t->lineno);
        return -2;
    }
    chomp(t->line);
    return 1;
}

static bool is_meta_line(const char *s)
{
    return !strncmp(s, "#meta", 5) && (s[5] == '\0' || is_blank(s[5]));
}

/* A text trace that does not say has_dma (a hand-written one) has it
 * when any record line is a DMA record: looked up from the first record
 * (line `first`) to the end, then the file goes back where it was.  A
 * stream that cannot seek keeps has_dma 0. */
static uint32_t text_has_dma(trace_text_in_t *t, const char *first)
{
    if (!strncmp(first, "DMA", 3) && (is_blank(first[3]) || !first[3]))
        return 1;
    long pos = ftell(t->f);
    if (pos < 0)
        return 0;
    uint32_t found = 0;
    char *line = NULL;
    size_t cap = 0;
    /* a line too long or out of memory ends the look-ahead: the reader
     * itself reports it when it gets there */
    while (!found && getline_bounded(&line, &cap, t->f) > 0) {
        const char *p = line;
        while (is_blank(*p))
            p++;
        found = !strncmp(p, "DMA", 3) &&
                (is_blank(p[3]) || p[3] == '\n' || p[3] == '\r' || !p[3]);
    }
    free(line);
    if (fseek(t->f, pos, SEEK_SET) != 0)
        return 0;
    clearerr(t->f);
    return found;
}

int trace_text_open(trace_text_in_t *t, iosim_trace_meta_t *meta,
                    iosim_err_t *err)
{
    int rc = next_line(t, err);
    if (rc == -1)
        return -1;
    if (rc == 0)
        return iosim_err_set(err,
                             "%s:1: empty file (neither a zstd trace "
                             "nor '%s')",
                             t->path, TRACE_TEXT_HEADER);
    if (rc == -2 || strcmp(t->line, TRACE_TEXT_HEADER) != 0) {
        static const char prefix[] = "# iosim-trace text ";
        if (!strncmp(t->line, prefix, sizeof prefix - 1))
            return iosim_err_set(err,
                                 "%s:1: unsupported text format "
                                 "version '%.20s' (this build reads v1)",
                                 t->path, t->line + sizeof prefix - 1);
        return iosim_err_set(err,
                             "%s:1: not a zstd trace and not iosim text "
                             "(first line must be '%s')",
                             t->path, TRACE_TEXT_HEADER);
    }
    bool has_dma_given = false;
    while ((rc = next_line(t, err)) == 1) {
        const char *p = t->line;
        while (is_blank(*p))
            p++;
        if (*p == '\0' || (*p == '#' && !is_meta_line(p)))
            continue;
        if (*p != '#') {
            t->pending = 1; /* first record: parsed by trace_text_read */
            if (!has_dma_given)
                meta->has_dma = text_has_dma(t, p);
            return 0;
        }
        p += 5;
        while (is_blank(*p))
            p++;
        const char *eq = strchr(p, '=');
        if (!eq || eq == p)
            return iosim_err_set(err,
                                 "%s:%lu: #meta line must be "
                                 "'#meta key=value'",
                                 t->path, t->lineno);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
        if (!strcmp(key, "has_dma"))
            has_dma_given = true;
        char why[160];
        if (trace_meta_apply(meta, key, eq + 1, why, sizeof why))
            return iosim_err_set(err, "%s:%lu: %s", t->path, t->lineno, why);
    }
    return rc < 0 ? -1 : 0;
}

long trace_text_read(trace_text_in_t *t, iosim_rec_t *out, size_t max,
                     size_t *good, iosim_err_t *err)
{
    size_t n = 0;
    *good = 0;
    while (n < max) {
        if (!t->pending) {
            int rc = next_line(t, err);
            if (rc < 0) {
                *good = n;
                return -1;
            }
            if (rc == 0) {
                *good = n;
                return 0;
            }
        }
        t->pending = 0;
        char why[200];
        int rc = iosim_rec_from_text(t->line, &out[n], why, sizeof why);
        if (rc == 0) {
            if (vec_reserve(&t->rec_line, &t->rec_cap, t->nrec + 1, 1024)) {
                *good = n;
                return iosim_err_set(err, "%s:%lu: out of memory", t->path,
                                     t->lineno);
            }
            t->rec_line[t->nrec++] =
                t->lineno <= UINT32_MAX ? (uint32_t)t->lineno : 0;
            n++;
            continue;
        }
        if (rc == 1) {
            if (is_meta_line(t->line + strspn(t->line, " \t"))) {
                *good = n;
                return iosim_err_set(err,
                                     "%s:%lu: #meta after the first "
                                     "record",
                                     t->path, t->lineno);
            }
            continue;
        }
        *good = n;
        return iosim_err_set(err, "%s:%lu: %s", t->path, t->lineno, why);
    }
    *good = n;
    return 1;
}

uint64_t trace_text_record_line(const trace_text_in_t *t, uint64_t no)
{
    return no < t->nrec ? t->rec_line[no] : 0;
}

void trace_text_close(trace_text_in_t *t)
{
    free(t->line);
    t->line = NULL;
    t->line_cap = 0;
    free(t->rec_line);
    t->rec_line = NULL;
    t->nrec = t->rec_cap = 0;
}
