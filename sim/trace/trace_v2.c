/* trace_v2.c — the block codec of trace format v2 (traces/FORMAT.md §8).
 *
 * Concepts:
 *   - A block holds up to TRACE_V2_BLOCK_RECS records in columns: kinds,
 *     change masks, time deltas, IOVA deltas, size deltas and the rarely
 *     changing fields.  Each record is predicted by the previous record of
 *     the same kind in the block (a DMA by the last DMA, a MAP by the last
 *     MAP), the time by the previous record of any kind; only differences
 *     are stored, as zigzag LEB128 varints.  A stream of 64 B reads stores
 *     about five bytes per record before zstd (48 in v1), and its kind,
 *     mask and size columns are runs that zstd shrinks to nothing.
 *   - The predictor starts from zero at every block, so any block decodes
 *     on its own: a reader can seek to a block through the index and
 *     threads could decode blocks in parallel.
 *   - The decoder is resumable: it fills as many records of the caller's
 *     array as asked and keeps its column cursors, so records go straight
 *     from the block's bytes into the batch the engine consumes.
 * Assumptions:
 *   - Payloads are bounded by the reader (TRACE_V2_PAYLOAD_MAX) before
 *     they are decoded; every cursor is checked against its column's end.
 * Not modeled: nothing (format code only).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "trace/trace_internal.h"

/* Change-mask bits (FORMAT.md §8.4): field differs from the previous
 * record of the same kind. */
enum {
    M_AUX = 1u << 0,
    M_PASID = 1u << 1,
    M_DEVICE = 1u << 2,
    M_DOMAIN = 1u << 3,
    M_CPU = 1u << 4,
    M_FLAGS = 1u << 5,
    M_INVAL = 1u << 6, /* desc, gran, am */
    M_RESERVED = 1u << 7,
};

/* The fields stored whole (not as deltas) in the extra column after aux,
 * in column order (FORMAT.md §8.4): a field is written when its mask bit
 * is set; the fields of one bit (desc, gran, am) are written together
 * when any of them changed. */
// clang-format off
static const struct v2_field {
    uint8_t bit;      /* M_* */
    uint8_t width;    /* bytes in iosim_rec_t: 1, 2 or 4 */
    uint16_t offset;  /* offsetof(iosim_rec_t, field) */
    const char *name; /* in error messages */
} v2_fields[] = {
    {M_PASID,    4, offsetof(iosim_rec_t, pasid),    "pasid"},
    {M_DEVICE,   2, offsetof(iosim_rec_t, device),   "device"},
    {M_DOMAIN,   2, offsetof(iosim_rec_t, domain),   "domain"},
    {M_CPU,      1, offsetof(iosim_rec_t, cpu),      "cpu"},
    {M_FLAGS,    1, offsetof(iosim_rec_t, flags),    "flags"},
    {M_INVAL,    1, offsetof(iosim_rec_t, desc),     "desc"},
    {M_INVAL,    1, offsetof(iosim_rec_t, gran),     "gran"},
    {M_INVAL,    1, offsetof(iosim_rec_t, am),       "am"},
    {M_RESERVED, 2, offsetof(iosim_rec_t, reserved), "reserved"},
};
// clang-format on
#define V2_NFIELDS (sizeof v2_fields / sizeof v2_fields[0])

static uint64_t field_get(const iosim_rec_t *r, const struct v2_field *f)
{
    const uint8_t *p = (const uint8_t *)r + f->offset;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    switch (f->width) {
    case 1:
        memcpy(&u8, p, 1);
        return u8;
    case 2:
        memcpy(&u16, p, 2);
        return u16;
    default:
        memcpy(&u32, p, 4);
        return u32;
    }
}

/* v fits the field (the decoder checked it against field_max) */
static void field_set(iosim_rec_t *r, const struct v2_field *f, uint64_t v)
{
    uint8_t *p = (uint8_t *)r + f->offset;
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;
    switch (f->width) {
    case 1:
        memcpy(p, &u8, 1);
        break;
    case 2:
        memcpy(p, &u16, 2);
        break;
    default:
        memcpy(p, &u32, 4);
        break;
    }
}

static uint64_t field_max(const struct v2_field *f)
{
    return f->width >= 4 ? UINT32_MAX : (1ull << (8 * f->width)) - 1;
}

static inline uint64_t zigzag(uint64_t d)
{
    return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}

static inline uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */
static int col_reserve(trace_v2_col_t *c, size_t more)
{
    return vec_reserve(&c->buf, &c->cap, c->len + more, 4096);
}

static inline void col_varint(trace_v2_col_t *c, uint64_t v)
{
    uint8_t *p = c->buf + c->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    c->len = (size_t)(p - c->buf);
}

void trace_v2_enc_reset(trace_v2_enc_t *e)
{
    for (unsigned i = 0; i < TRACE_V2_NCOLS; i++)
        e->col[i].len = 0;
    e->nrec = 0;
    e->prev_t = 0;
    memset(e->prev, 0, sizeof e->prev);
}

void trace_v2_enc_free(trace_v2_enc_t *e)
{
    for (unsigned i = 0; i < TRACE_V2_NCOLS; i++)
        free(e->col[i].buf);
    memset(e, 0, sizeof *e);
}

int trace_v2_enc_add(trace_v2_enc_t *e, const iosim_rec_t *r)
{
    /* worst case: 10-byte varints, 3 time/iova/size, 8 extra fields */
    for (unsigned i = 0; i < TRACE_V2_NCOLS; i++)
        if (col_reserve(&e->col[i], 10 * 8))
            return -1;
    const iosim_rec_t *p = &e->prev[r->kind];
    unsigned m = 0;
    trace_v2_col_t *x = &e->col[TRACE_V2_COL_EXTRA];
    if (r->aux != p->aux) {
        m |= M_AUX;
        col_varint(x, zigzag(r->aux - p->aux));
    }
    for (size_t i = 0; i < V2_NFIELDS;) {
        size_t j = i; /* [i, j): the fields of one mask bit */
        bool changed = false;
        for (; j < V2_NFIELDS && v2_fields[j].bit == v2_fields[i].bit; j++)
            changed |=
                field_get(r, &v2_fields[j]) != field_get(p, &v2_fields[j]);
        if (changed) {
            m |= v2_fields[i].bit;
            for (size_t k = i; k < j; k++)
                col_varint(x, field_get(r, &v2_fields[k]));
        }
        i = j;
    }
    trace_v2_col_t *c = e->col;
    c[TRACE_V2_COL_KIND].buf[c[TRACE_V2_COL_KIND].len++] = r->kind;
    c[TRACE_V2_COL_MASK].buf[c[TRACE_V2_COL_MASK].len++] = (uint8_t)m;
    col_varint(&c[TRACE_V2_COL_T], zigzag(r->t - e->prev_t));
    col_varint(&c[TRACE_V2_COL_IOVA], zigzag(r->iova - p->iova));
    col_varint(&c[TRACE_V2_COL_SIZE], zigzag(r->size - p->size));
    e->prev[r->kind] = *r;
    e->prev_t = r->t;
    e->nrec++;
    return 0;
}

size_t trace_v2_enc_size(const trace_v2_enc_t *e)
{
    size_t n = TRACE_V2_PAYLOAD_HEADER;
    for (unsigned i = 0; i < TRACE_V2_NCOLS; i++)
        n += e->col[i].len;
    return n;
}

/* Payload layout: FORMAT.md §8.3. */
void trace_v2_enc_finish(const trace_v2_enc_t *e, uint8_t *dst)
{
    put_le32(dst, e->nrec);
    put_le32(dst + 4, (uint32_t)e->col[TRACE_V2_COL_T].len);
    put_le32(dst + 8, (uint32_t)e->col[TRACE_V2_COL_IOVA].len);
    put_le32(dst + 12, (uint32_t)e->col[TRACE_V2_COL_SIZE].len);
    put_le32(dst + 16, (uint32_t)e->col[TRACE_V2_COL_EXTRA].len);
    uint8_t *p = dst + TRACE_V2_PAYLOAD_HEADER;
    for (unsigned i = 0; i < TRACE_V2_NCOLS; i++) {
        if (e->col[i].len)
            memcpy(p, e->col[i].buf, e->col[i].len);
        p += e->col[i].len;
    }
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */
int trace_v2_dec_begin(trace_v2_dec_t *d, const uint8_t *payload, size_t len,
                       char *why, size_t whylen)
{
    memset(d, 0, sizeof *d);
    if (len < TRACE_V2_PAYLOAD_HEADER) {
        snprintf(why, whylen,
                 "payload of %zu bytes is shorter than its "
                 "%u-byte header",
                 len, TRACE_V2_PAYLOAD_HEADER);
        return -1;
    }
    uint64_t nrec = get_le32(payload);
    uint64_t lt = get_le32(payload + 4), li = get_le32(payload + 8),
             ls = get_le32(payload + 12), lx = get_le32(payload + 16);
    uint64_t want = TRACE_V2_PAYLOAD_HEADER + 2 * nrec + lt + li + ls + lx;
    if (want != len) {
        snprintf(why, whylen,
                 "column lengths add up to %" PRIu64 " bytes, "
                 "the payload has %zu",
                 want, len);
        return -1;
    }
    const uint8_t *p = payload + TRACE_V2_PAYLOAD_HEADER;
    d->kind = p;
    d->mask = p + nrec;
    d->t = p + 2 * nrec;
    d->t_end = d->t + lt;
    d->iova = d->t_end;
    d->iova_end = d->iova + li;
    d->size = d->iova_end;
    d->size_end = d->size + ls;
    d->extra = d->size_end;
    d->extra_end = d->extra + lx;
    d->nrec = (uint32_t)nrec;
    for (unsigned k = 0; k <= IOSIM_REC_KIND_MAX; k++)
        d->prev[k].kind = (uint8_t)k;
    return 0;
}

/* LEB128 (at most 10 bytes, the tenth at most 1) from [*pp, end). */
static inline int vget(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    if (end - p >= 10) {
        /* the longest varint fits: no bounds check per byte (the common
         * case, all but the last few values of a column) */
        uint64_t x = p[0] & 0x7f, b = p[1];
        x |= (b & 0x7f) << 7;
        if (b < 0x80) {
            *v = x;
            *pp = p + 2;
            return 0;
        }
        b = p[2];
        x |= (b & 0x7f) << 14;
        if (b < 0x80) {
            *v = x;
            *pp = p + 3;
            return 0;
        }
        for (unsigned i = 3; i < 10; i++) {
            b = p[i];
            if (i == 9 && b > 1)
                return -1;
            x |= (b & 0x7f) << (7 * i);
            if (b < 0x80) {
                *v = x;
                *pp = p + i + 1;
                return 0;
            }
        }
        return -1;
    }
    uint64_t x = 0;
    for (unsigned s = 0;; s += 7) {
        if (p == end || s > 63)
            return -1;
        uint8_t b = *p++;
        if (s == 63 && b > 1)
            return -1;
        x |= (uint64_t)(b & 0x7f) << s;
        if (b < 0x80)
            break;
    }
    *v = x;
    *pp = p;
    return 0;
}

/* unzigzag of the one-byte varints 0..127: -64..63 */
#define UNZZ(z) ((int8_t)(((z) >> 1) ^ -((z)&1)))
#define UNZZ4(z) UNZZ(z), UNZZ(z + 1), UNZZ(z + 2), UNZZ(z + 3)
#define UNZZ16(z) UNZZ4(z), UNZZ4(z + 4), UNZZ4(z + 8), UNZZ4(z + 12)
#define UNZZ64(z) UNZZ16(z), UNZZ16(z + 16), UNZZ16(z + 32), UNZZ16(z + 48)
static const int8_t unzigzag7[128] = {UNZZ64(0), UNZZ64(64)};
#undef UNZZ64
#undef UNZZ16
#undef UNZZ4
#undef UNZZ

/* A zigzag varint of one to four bytes where the column holds at least 4
 * more bytes, unzigzagged into *d: from one 4-byte load, without a bounds
 * check (a one-byte value through unzigzag7).  Returns the cursor after
 * it, or NULL for a longer (or malformed) varint, which the caller leaves
 * to vget. */
static inline const uint8_t *vget4z(const uint8_t *p, uint64_t *d)
{
    uint32_t w = get_le32(p);
    if (!(w & 0x80u)) {
        *d = (uint64_t)(int64_t)unzigzag7[w & 0x7fu];
        return p + 1;
    }
    if (!(w & 0x8000u)) {
        *d = unzigzag((w & 0x7fu) | (w >> 1 & 0x3f80u));
        return p + 2;
    }
    if (!(w & 0x800000u)) {
        *d = unzigzag((w & 0x7fu) | (w >> 1 & 0x3f80u) | (w >> 2 & 0x1fc000u));
        return p + 3;
    }
    if (!(w & 0x80000000u)) {
        *d = unzigzag((w & 0x7fu) | (w >> 1 & 0x3f80u) | (w >> 2 & 0x1fc000u) |
                      (w >> 3 & 0xfe00000u));
        return p + 4;
    }
    return NULL;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Where the records from n on (before max) stop repeating kind k with no
 * change mask: eight kinds and masks a step, then one at a time. */
static size_t run_end(const uint8_t *kinds, const uint8_t *masks, size_t n,
                      size_t max, unsigned k)
{
    const uint64_t kk = 0x0101010101010101ull * k;
    for (; max - n >= 8; n += 8) {
        /* a byte that is not zero: a record of another kind or a mask
         * (the lowest such byte is the first such record) */
        uint64_t x = (get_le64(kinds + n) ^ kk) | get_le64(masks + n);
        if (x)
            return n + (size_t)__builtin_ctzll(x) / 8;
    }
    while (n < max && kinds[n] == k && masks[n] == 0)
        n++;
    return n;
}

/* A record of a run: its t, iova and size, and the 24 bytes from aux on
 * that it takes whole from its kind's predictor, x0..x2. */
enum { TAIL = offsetof(iosim_rec_t, aux) };
_Static_assert(sizeof(iosim_rec_t) - TAIL == 24 &&
                   offsetof(iosim_rec_t, t) < TAIL &&
                   offsetof(iosim_rec_t, iova) < TAIL &&
                   offsetof(iosim_rec_t, size) < TAIL,
               "a record is t, iova, size, then 24 bytes from aux on");
static inline void run_rec(iosim_rec_t *o, uint64_t t, uint64_t iova,
                           uint64_t size, uint64_t x0, uint64_t x1, uint64_t x2)
{
    o->t = t;
    o->iova = iova;
    o->size = size;
    uint8_t *ot = (uint8_t *)o + TAIL;
    memcpy(ot, &x0, 8);
    memcpy(ot + 8, &x1, 8);
    memcpy(ot + 16, &x2, 8);
}

/* The cursors of the time, iova and size columns and the predictors of
 * one kind, handed to dec_run and back. */
typedef struct dec_cols {
    const uint8_t *t, *iova, *size;
    uint64_t pt, piova, psize;
} dec_cols_t;

/* The records from n on (before max) that repeat kind k with no change
 * mask, while every column has room for the longest varints: the plain
 * loop's steps without its checks of kind, mask and column ends (a run
 * of DMA records is most of a stream).  Returns the new n; a malformed
 * varint ends the run (the plain loop decodes it again and reports it).
 * Not inlined: the run's loop keeps its cursors, predictors and the
 * kind's fields in registers, which the plain loop around it cannot. */
static __attribute__((noinline)) size_t
dec_run(const trace_v2_dec_t *d, const uint8_t *kinds, const uint8_t *masks,
        size_t n, size_t max, unsigned k, iosim_rec_t *out, dec_cols_t *c)
{
    const uint8_t *et = d->t_end, *ei = d->iova_end, *es = d->size_end;
    size_t room = (size_t)(et - c->t);
    if ((size_t)(ei - c->iova) < room)
        room = (size_t)(ei - c->iova);
    if ((size_t)(es - c->size) < room)
        room = (size_t)(es - c->size);
    room /= 10; /* records that cannot reach any column's end */
    if (max - n > room)
        max = n + room;
    max = run_end(kinds, masks, n, max, k);
    /* what the run's records take whole from the predictor, the 24 bytes
     * from aux on, held in registers (out might alias d as far as the
     * compiler knows) */
    uint64_t x0, x1, x2;
    memcpy(&x0, (const uint8_t *)&d->prev[k] + TAIL, 8);
    memcpy(&x1, (const uint8_t *)&d->prev[k] + TAIL + 8, 8);
    memcpy(&x2, (const uint8_t *)&d->prev[k] + TAIL + 16, 8);
    const uint8_t *pt = c->t, *pi = c->iova, *ps = c->size;
    uint64_t tt = c->pt, ii = c->piova, ss = c->psize;
    iosim_rec_t *o = out + n, *const oend = out + max;
    while (o < oend) {
        uint64_t dt, di, ds;
        const uint8_t *qt, *qi, *qs;
        for (; o < oend; o++) {
            if (!(qt = vget4z(pt, &dt)) || !(qi = vget4z(pi, &di)) ||
                !(qs = vget4z(ps, &ds)))
                break;
            pt = qt, pi = qi, ps = qs;
            run_rec(o, tt += dt, ii += di, ss += ds, x0, x1, x2);
        }
        /* a varint of five bytes or more: vget, apart from the loop above
         * (inlined into it, its byte loads would be made ahead of vget4z's
         * test, for every value); the columns have room for ten bytes, the
         * longest.  A malformed one ends the run (the plain loop decodes
         * it again and reports it). */
        if (o == oend)
            break;
        qt = pt, qi = pi, qs = ps;
        if (vget(&qt, qt + 10, &dt) || vget(&qi, qi + 10, &di) ||
            vget(&qs, qs + 10, &ds))
            break;
        pt = qt, pi = qi, ps = qs;
        run_rec(o++, tt += unzigzag(dt), ii += unzigzag(di), ss += unzigzag(ds),
                x0, x1, x2);
    }
    c->t = pt, c->iova = pi, c->size = ps;
    c->pt = tt, c->piova = ii, c->psize = ss;
    return (size_t)(o - out);
}

/* One unsigned field of at most `max` from the extra column. */
static inline int xget(trace_v2_dec_t *d, uint64_t max, uint64_t *v,
                       const char *name, char *why, size_t whylen)
{
    if (vget(&d->extra, d->extra_end, v)) {
        snprintf(why, whylen, "the extra column ends inside %s", name);
        return -1;
    }
    if (*v > max) {
        snprintf(why, whylen, "%s %" PRIu64 " does not fit its field", name,
                 *v);
        return -1;
    }
    return 0;
}

static int dec_extra(trace_v2_dec_t *d, unsigned m, iosim_rec_t *o, char *why,
                     size_t whylen)
{
    uint64_t v;
    if (m & M_AUX) {
        if (vget(&d->extra, d->extra_end, &v)) {
            snprintf(why, whylen, "the extra column ends inside aux");
            return -1;
        }
        o->aux += unzigzag(v);
    }
    for (size_t i = 0; i < V2_NFIELDS; i++) {
        const struct v2_field *f = &v2_fields[i];
        if (!(m & f->bit))
            continue;
        if (xget(d, field_max(f), &v, f->name, why, whylen))
            return -1;
        field_set(o, f, v);
    }
    return 0;
}

long trace_v2_dec_read(trace_v2_dec_t *d, iosim_rec_t *out, size_t max,
                       size_t *good, char *why, size_t whylen)
{
    size_t n = 0;
    uint32_t left = d->nrec - d->done;
    if (max > left)
        max = left;
    const uint8_t *kinds = d->kind + d->done, *masks = d->mask + d->done;
    /* The predictor of each kind is d->prev[k]; its t, iova and size live
     * in local arrays while the rest of it, which rarely changes, is copied
     * whole into each record.  Copying the last decoded record instead
     * reloads 16-byte words just written as 8-byte fields, and that store
     * forwarding stall cost half the decode time. */
    uint64_t iova[IOSIM_REC_KIND_MAX + 1], size[IOSIM_REC_KIND_MAX + 1];
    for (unsigned k = 0; k <= IOSIM_REC_KIND_MAX; k++) {
        iova[k] = d->prev[k].iova;
        size[k] = d->prev[k].size;
    }
    /* cursors in locals: the compiler keeps them in registers (through
     * d they are reloaded after every store into out) */
    const uint8_t *ct = d->t, *ci = d->iova, *cs = d->size;
    const uint8_t *const et = d->t_end, *const ei = d->iova_end,
                         *const es = d->size_end;
    uint64_t t = d->prev_t;
    for (; n < max; n++) {
        unsigned k = kinds[n];
        if (k - 1u >= IOSIM_REC_KIND_MAX) {
            snprintf(why, whylen, "unknown kind %u", k);
            goto bad;
        }
        unsigned m = masks[n];
        if (m && dec_extra(d, m, &d->prev[k], why, whylen))
            goto bad;
        iosim_rec_t *o = &out[n];
        *o = d->prev[k];
        uint64_t dt, di, ds;
        if (vget(&ct, et, &dt)) {
            snprintf(why, whylen, "the time column ends early");
            goto bad;
        }
        if (vget(&ci, ei, &di)) {
            snprintf(why, whylen, "the iova column ends early");
            goto bad;
        }
        if (vget(&cs, es, &ds)) {
            snprintf(why, whylen, "the size column ends early");
            goto bad;
        }
        t += unzigzag(dt);
        o->t = t;
        o->iova = iova[k] += unzigzag(di);
        o->size = size[k] += unzigzag(ds);
        if (n + 1 < max && kinds[n + 1] == k && masks[n + 1] == 0) {
            dec_cols_t c = {ct, ci, cs, t, iova[k], size[k]};
            n = dec_run(d, kinds, masks, n + 1, max, k, out, &c) - 1;
            ct = c.t, ci = c.iova, cs = c.size;
            t = c.pt, iova[k] = c.piova, size[k] = c.psize;
        }
    }
    for (unsigned k = 1; k <= IOSIM_REC_KIND_MAX; k++) {
        d->prev[k].iova = iova[k];
        d->prev[k].size = size[k];
    }
    d->t = ct;
    d->iova = ci;
    d->size = cs;
    d->prev_t = t;
    d->done += (uint32_t)n;
    *good = n;
    if (d->done == d->nrec &&
        (d->t != d->t_end || d->iova != d->iova_end || d->size != d->size_end ||
         d->extra != d->extra_end)) {
        snprintf(why, whylen,
                 "bytes left in its columns after the last "
                 "record");
        return -1;
    }
    return 0;
bad:
    for (unsigned k = 1; k <= IOSIM_REC_KIND_MAX; k++) {
        d->prev[k].iova = iova[k];
        d->prev[k].size = size[k];
    }
    d->t = ct;
    d->iova = ci;
    d->size = cs;
    d->prev_t = t;
    d->done += (uint32_t)n;
    *good = n;
    return -1;
}
