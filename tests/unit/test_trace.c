/* test_trace.c — trace formats v1 and v2: binary and text reader/writer.
 *
 * Concepts: expected bytes and values are computed here by an independent
 * route (this file's own little-endian encoder and zstd's one-shot API,
 * the bit layout of a PCI source id, counting records we generated), never
 * taken from the module's own output.
 * Assumptions: /tmp is writable (a mkdtemp directory, removed at the end).
 * Not covered here: the iosim-trace commands (tests/cli/trace_errors.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "iosim.h"
#include "trace/trace_internal.h"

#include "test_util.h"

/* ---------------- helpers: an independent encoder ----------------- */
static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Record layout of FORMAT.md §4, written out by hand. */
static void enc_rec(uint8_t *p, const iosim_rec_t *r)
{
    le(p + 0, r->t, 8);
    le(p + 8, r->iova, 8);
    le(p + 16, r->size, 8);
    le(p + 24, r->aux, 8);
    le(p + 32, r->pasid, 4);
    le(p + 36, r->device, 2);
    le(p + 38, r->domain, 2);
    p[40] = r->kind;
    p[41] = r->cpu;
    p[42] = r->flags;
    p[43] = r->desc;
    p[44] = r->gran;
    p[45] = r->am;
    le(p + 46, r->reserved, 2);
}

/* Header + meta block as raw bytes; returns length. */
static size_t enc_header(uint8_t *p, const char *magic, uint32_t version,
                         uint32_t recsize, const char *meta)
{
    memcpy(p, magic, 8);
    le(p + 8, version, 4);
    le(p + 12, recsize, 4);
    le(p + 16, strlen(meta), 4);
    memcpy(p + 20, meta, strlen(meta));
    return 20 + strlen(meta);
}

static void write_zst(const char *path, const void *raw, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    void *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, raw, n, 3);
    assert_false(ZSTD_isError(zn));
    write_file(path, z, zn);
    free(z);
}

static void assert_rec_equal(const iosim_rec_t *a, const iosim_rec_t *b,
                             size_t idx)
{
    if (a->t != b->t || a->iova != b->iova || a->size != b->size ||
        a->aux != b->aux || a->pasid != b->pasid || a->device != b->device ||
        a->domain != b->domain || a->kind != b->kind || a->cpu != b->cpu ||
        a->flags != b->flags || a->desc != b->desc || a->gran != b->gran ||
        a->am != b->am || a->reserved != b->reserved)
        fail_msg("record %zu differs (kind %u vs %u, t %llu vs %llu)", idx,
                 a->kind, b->kind, (unsigned long long)a->t,
                 (unsigned long long)b->t);
}

/* Reads the whole trace with batches of varying size. */
static size_t read_all(const char *path, iosim_rec_t *out, size_t cap,
                       long *last_rc, iosim_err_t *err)
{
    iosim_trace_reader_t *r = iosim_trace_open(path, err);
    assert_non_null(r);
    size_t n = 0, step = 1;
    long rc;
    while ((rc = iosim_trace_read(r, out + n, step < cap - n ? step : cap - n,
                                  err)) > 0) {
        n += (size_t)rc;
        step = step * 3 % 7001 + 1;
        assert_true(n <= cap);
        if (n == cap)
            break;
    }
    if (n == cap)
        rc = iosim_trace_read(r, out, 0, err); /* max 0 -> 0 */
    uint64_t done, total;
    iosim_trace_progress(r, &done, &total);
    if (rc == 0) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(total, (uint64_t)st.st_size);
        assert_int_equal(done, total); /* everything consumed at the end */
    }
    iosim_trace_close(r);
    *last_rc = rc;
    return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void random_recs(iosim_rec_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].t = rnd();
        r[i].iova = rnd();
        r[i].size = rnd() >> (rnd() & 63);
        r[i].aux = rnd();
        r[i].pasid = (uint32_t)rnd();
        r[i].device = (uint16_t)rnd();
        r[i].domain = (uint16_t)rnd();
        r[i].kind = (uint8_t)(1 + rnd() % 5);
        r[i].cpu = (uint8_t)rnd();
        r[i].flags = (uint8_t)rnd();
        r[i].desc = (uint8_t)rnd();
        r[i].gran = (uint8_t)rnd();
        r[i].am = (uint8_t)rnd();
        r[i].reserved = (uint16_t)rnd();
    }
}

/* Three records per kind: all fields zero, all fields at their maximum,
 * and a typical one. */
static size_t extreme_recs(iosim_rec_t *r)
{
    size_t n = 0;
    for (uint8_t k = 1; k <= IOSIM_REC_KIND_MAX; k++) {
        memset(&r[n], 0, sizeof r[n]);
        r[n++].kind = k;
        memset(&r[n], 0xff, sizeof r[n]);
        r[n++].kind = k;
        memset(&r[n], 0, sizeof r[n]);
        r[n].kind = k;
        r[n].t = 1000 + k;
        r[n].iova = 0xffff9000;
        r[n].size = k == IOSIM_REC_INVAL ? 0 : 4096;
        r[n].aux = 0x11e8000;
        r[n].device = 0x0100;
        r[n].domain = 6;
        r[n].cpu = 1;
        r[n].flags = 1;
        r[n].desc = k == IOSIM_REC_INVAL ? IOSIM_DESC_IOTLB : 0;
        r[n].gran = k == IOSIM_REC_INVAL ? IOSIM_GRAN_PAGE : 0;
        n++;
    }
    return n;
}

static const iosim_trace_meta_t test_meta = {
    .source = "gen-random",
    .kernel = "6.1.0-56-amd64",
    .policy = "strict",
    .workload = "redis",
    .time_unit = "ns",
    .cpus = 2,
    .has_dma = 1,
};

/* version 0: the default writer (iosim_trace_create) */
static void write_trace_v(const char *path, const iosim_rec_t *r, size_t n,
                          bool text, unsigned version)
{
    iosim_err_t err;
    iosim_trace_writer_t *w =
        version ? trace_create_version(path, &test_meta, version, &err)
                : iosim_trace_create(path, &test_meta, text, &err);
    assert_non_null(w);
    for (size_t i = 0, step = 1; i < n; i += step, step = step * 5 % 4999 + 1)
        assert_int_equal(
            iosim_trace_write(w, r + i, step < n - i ? step : n - i, &err), 0);
    assert_false(file_exists(path)); /* only the temp name exists so far */
    assert_int_equal(iosim_trace_commit(w, &err), 0);
    assert_true(file_exists(path));
}

static void write_trace(const char *path, const iosim_rec_t *r, size_t n,
                        bool text)
{
    write_trace_v(path, r, n, text, 0);
}

/* ------------------------------- tests ----------------------------- */
static void roundtrip(bool text)
{
    iosim_rec_t in[16], out[32];
    size_t n = extreme_recs(in);
    const char *p = wpath(text ? "ext.txt" : "ext.zst");
    write_trace(p, in, n, text);
    iosim_err_t err;
    long rc;
    size_t got = read_all(p, out, 32, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_rec_equal(&in[i], &out[i], i);

    iosim_trace_reader_t *r = iosim_trace_open(p, &err);
    assert_non_null(r);
    const iosim_trace_meta_t *m = iosim_trace_meta(r);
    assert_string_equal(m->source, test_meta.source);
    assert_string_equal(m->kernel, test_meta.kernel);
    assert_string_equal(m->policy, test_meta.policy);
    assert_string_equal(m->workload, test_meta.workload);
    assert_string_equal(m->time_unit, "ns");
    assert_int_equal(m->cpus, 2);
    assert_int_equal(m->has_dma, 1);
    iosim_trace_close(r);
}

static void test_roundtrip_binary(void **s)
{
    (void)s;
    roundtrip(false);
}
static void test_roundtrip_text(void **s)
{
    (void)s;
    roundtrip(true);
}

/* Every record survives rec_to_text -> rec_from_text on its own. */
static void test_text_line_roundtrip(void **s)
{
    (void)s;
    iosim_rec_t in[16], back;
    size_t n = extreme_recs(in);
    char line[512], why[200];
    for (size_t i = 0; i < n; i++) {
        int k = iosim_rec_to_text(&in[i], line, sizeof line);
        assert_true(k > 0);
        assert_int_equal((size_t)k, strlen(line));
        assert_int_equal(iosim_rec_from_text(line, &back, why, sizeof why), 0);
        assert_rec_equal(&in[i], &back, i);
    }
    /* a too small buffer is refused, not overrun */
    assert_int_equal(iosim_rec_to_text(&in[1], line, 10), -1);
}

/* The on-disk bytes match FORMAT.md, checked with zstd's one-shot API. */
static void test_binary_layout(void **s)
{
    (void)s;
    iosim_rec_t r = {.t = 0x0102030405060708ULL,
                     .iova = 0x1112131415161718ULL,
                     .size = 0x2122232425262728ULL,
                     .aux = 0x3132333435363738ULL,
                     .pasid = 0x41424344,
                     .device = 0x5152,
                     .domain = 0x6162,
                     .kind = IOSIM_REC_INVAL,
                     .cpu = 0x71,
                     .flags = 0x72,
                     .desc = 0x73,
                     .gran = 0x74,
                     .am = 0x75,
                     .reserved = 0x8182};
    const char *p = wpath("layout.zst");
    write_trace_v(p, &r, 1, false, 1);
    size_t zn;
    uint8_t *z = slurp(p, &zn);
    uint8_t raw[2048];
    size_t n = ZSTD_decompress(raw, sizeof raw, z, zn);
    assert_false(ZSTD_isError(n));
    free(z);
    const char meta[] = "source=gen-random\nkernel=6.1.0-56-amd64\n"
                        "policy=strict\nworkload=redis\ncpus=2\n"
                        "time_unit=ns\nhas_dma=1\nrequests=0\n";
    uint8_t want[2048];
    size_t h = enc_header(want, "IOSIMTRC", 1, 48, meta);
    enc_rec(want + h, &r);
    assert_int_equal(n, h + 48);
    assert_memory_equal(raw, want, n);
    /* spot-check the little-endian order without the helper */
    assert_int_equal(raw[h + 0], 0x08);
    assert_int_equal(raw[h + 7], 0x01);
    assert_int_equal(raw[h + 32], 0x44);
    assert_int_equal(raw[h + 40], IOSIM_REC_INVAL);
    assert_int_equal(raw[h + 46], 0x82);
}

/* 100k random records in both binary versions (v2: two blocks) and the
 * text form, read back in batches of varying size */
#define BIG 100000
static void test_100k(void **s)
{
    (void)s;
    iosim_rec_t *in = malloc(BIG * sizeof *in),
                *out = malloc(BIG * sizeof *out);
    random_recs(in, BIG);
    const char *p1 = wpath("big1.zst");
    write_trace_v(p1, in, BIG, false, 1);
    iosim_err_t err1;
    long rc1;
    assert_int_equal(read_all(p1, out, BIG + 1, &rc1, &err1), BIG);
    assert_int_equal(rc1, 0);
    for (size_t i = 0; i < BIG; i++)
        assert_rec_equal(&in[i], &out[i], i);
    const char *p = wpath("big.zst");
    write_trace(p, in, BIG, false);
    iosim_err_t err;
    long rc;
    size_t got = read_all(p, out, BIG + 1, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(got, BIG);
    for (size_t i = 0; i < BIG; i++)
        assert_rec_equal(&in[i], &out[i], i);

    /* text form of the first 10k records, same comparison */
    const char *pt = wpath("big.txt");
    write_trace(pt, in, 10000, true);
    got = read_all(pt, out, BIG, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(got, 10000);
    for (size_t i = 0; i < 10000; i++)
        assert_rec_equal(&in[i], &out[i], i);
    free(in);
    free(out);
}

/* Reads to the end; returns the final rc and the records before it. */
static long drain(const char *path, size_t *nrec, iosim_err_t *err)
{
    iosim_trace_reader_t *r = iosim_trace_open(path, err);
    if (!r)
        return -100;
    static iosim_rec_t buf[4096];
    long rc;
    *nrec = 0;
    while ((rc = iosim_trace_read(r, buf, 4096, err)) > 0)
        *nrec += (size_t)rc;
    /* an error repeats on later calls */
    if (rc < 0) {
        iosim_err_t again;
        assert_int_equal(iosim_trace_read(r, buf, 4096, &again), -1);
        assert_string_equal(again.msg, err->msg);
    }
    iosim_trace_close(r);
    return rc;
}

static void test_truncated(void **s)
{
    (void)s;
    iosim_rec_t *in = malloc(BIG * sizeof *in);
    random_recs(in, BIG);
    iosim_err_t err;
    size_t n;
    for (unsigned v = 1; v <= 2; v++) { /* both binary versions */
        const char *p = wpath(v == 1 ? "cut_src1.zst" : "cut_src2.zst");
        write_trace_v(p, in, BIG, false, v);
        size_t zn;
        uint8_t *z = slurp(p, &zn);
        const char *cut = wpath("cut.zst");
        write_file(cut, z, zn / 2);
        free(z);
        assert_int_equal(drain(cut, &n, &err), -1);
        assert_true(n < BIG);
        assert_non_null(strstr(err.msg, "truncated"));
        assert_non_null(strstr(err.msg, cut));
    }
    free(in);

    /* a partial record: header + 2 records + 20 bytes, valid zstd */
    uint8_t raw[512];
    iosim_rec_t r = {.kind = IOSIM_REC_MAP, .size = 4096};
    size_t h = enc_header(raw, "IOSIMTRC", 1, 48, "source=x\n");
    enc_rec(raw + h, &r);
    enc_rec(raw + h + 48, &r);
    memset(raw + h + 96, 0, 20);
    const char *part = wpath("partial.zst");
    write_zst(part, raw, h + 116);
    assert_int_equal(drain(part, &n, &err), -1);
    assert_int_equal(n, 2);
    assert_non_null(strstr(err.msg, "truncated after 2 records"));
}

static void test_corrupt(void **s)
{
    (void)s;
    iosim_rec_t *in = malloc(BIG * sizeof *in);
    random_recs(in, BIG);
    iosim_err_t err;
    size_t n;
    for (unsigned v = 1; v <= 2; v++) { /* both binary versions */
        const char *p = wpath(v == 1 ? "bad_src1.zst" : "bad_src2.zst");
        write_trace_v(p, in, BIG, false, v);
        size_t zn;
        uint8_t *z = slurp(p, &zn);
        for (size_t i = zn / 2; i < zn / 2 + 16; i++)
            z[i] ^= 0x5a;
        const char *bad = wpath("corrupt.zst");
        write_file(bad, z, zn);
        free(z);
        assert_int_equal(drain(bad, &n, &err), -1);
        assert_non_null(strstr(err.msg, bad));
    }
    free(in);
}

static void test_bad_header(void **s)
{
    (void)s;
    uint8_t raw[256];
    iosim_err_t err;
    size_t n;

    /* valid zstd, other content */
    const char other[] = "this is some text that is not an iosim trace\n";
    write_zst(wpath("other.zst"), other, sizeof other);
    assert_null(iosim_trace_open(wpath("other.zst"), &err));
    assert_non_null(strstr(err.msg, "magic"));
    assert_non_null(strstr(err.msg, "other.zst"));

    size_t h = enc_header(raw, "IOSIMTRC", 2, 48, "");
    write_zst(wpath("v2.zst"), raw, h);
    assert_null(iosim_trace_open(wpath("v2.zst"), &err));
    assert_non_null(strstr(err.msg, "version 2"));

    h = enc_header(raw, "IOSIMTRC", 1, 40, "");
    write_zst(wpath("rs.zst"), raw, h);
    assert_null(iosim_trace_open(wpath("rs.zst"), &err));
    assert_non_null(strstr(err.msg, "record_size 40"));

    /* a header cut short inside a complete zstd frame */
    write_zst(wpath("short.zst"), "IOSIMTRC\1\0", 10);
    assert_int_equal(drain(wpath("short.zst"), &n, &err), -100);
    assert_non_null(strstr(err.msg, "truncated"));

    /* unknown metadata keys are ignored; known ones parsed */
    h = enc_header(raw, "IOSIMTRC", 1, 48,
                   "future_key=1\nworkload=nginx\ncpus=8\n");
    write_zst(wpath("fwd.zst"), raw, h);
    iosim_trace_reader_t *r = iosim_trace_open(wpath("fwd.zst"), &err);
    assert_non_null(r);
    assert_string_equal(iosim_trace_meta(r)->workload, "nginx");
    assert_int_equal(iosim_trace_meta(r)->cpus, 8);
    iosim_trace_close(r);

    /* not zstd and not text */
    const uint8_t junk[] = {0x7f, 'E', 'L', 'F', 0, 1, 2, 3};
    write_file(wpath("junk.bin"), junk, sizeof junk);
    assert_null(iosim_trace_open(wpath("junk.bin"), &err));
    assert_non_null(strstr(err.msg, "junk.bin"));
}

/* Writes m to path (text or binary) and opens it again: the reader (the
 * caller closes it). */
static iosim_trace_reader_t *
meta_roundtrip(const char *path, const iosim_trace_meta_t *m, bool text)
{
    iosim_err_t err;
    iosim_trace_writer_t *w = iosim_trace_create(path, m, text, &err);
    assert_non_null(w);
    assert_int_equal(iosim_trace_commit(w, &err), 0);
    iosim_trace_reader_t *r = iosim_trace_open(path, &err);
    assert_non_null(r);
    return r;
}

/* The v1 header of a trace of m holds exactly the metadata block want
 * (test_trace_v2.c checks the v2 header frame). */
static void check_v1_meta_block(const char *name, const iosim_trace_meta_t *m,
                                const char *want_meta)
{
    iosim_err_t err;
    iosim_trace_writer_t *w1 = trace_create_version(wpath(name), m, 1, &err);
    assert_non_null(w1);
    assert_int_equal(iosim_trace_commit(w1, &err), 0);
    size_t zn;
    uint8_t *z = slurp(wpath(name), &zn);
    uint8_t raw[2048];
    size_t n = ZSTD_decompress(raw, sizeof raw, z, zn);
    free(z);
    assert_false(ZSTD_isError(n));
    uint8_t want[2048];
    size_t h = enc_header(want, "IOSIMTRC", 1, 48, want_meta);
    assert_int_equal(n, h);
    assert_memory_equal(raw, want, n);
}

typedef struct bad_meta {
    const char *meta, *why;
} bad_meta_t;

/* Each metadata block of bad[] in a v1 header is refused, naming the
 * file and saying why. */
static void check_bad_meta(const bad_meta_t *bad, size_t nbad)
{
    iosim_err_t err;
    for (size_t i = 0; i < nbad; i++) {
        uint8_t raw[2048];
        size_t h = enc_header(raw, "IOSIMTRC", 1, 48, bad[i].meta);
        write_zst(wpath("badmeta.zst"), raw, h);
        assert_null(iosim_trace_open(wpath("badmeta.zst"), &err));
        if (!strstr(err.msg, bad[i].why) || !strstr(err.msg, "badmeta.zst"))
            fail_msg("case %zu: '%s'", i, err.msg);
    }
}

/* Reference counters (FORMAT.md §3, key ref.<name>): written after the
 * eight fixed keys in the order set, read back by both forms; a later key
 * of the same name replaces the value; bad names, bad values and a ninth
 * name are errors naming the key. */
static void test_meta_refs(void **s)
{
    (void)s;
    iosim_trace_meta_t m = test_meta;
    assert_int_equal(iosim_trace_meta_set_ref(&m, "iotlb.misses", 9985), 0);
    assert_int_equal(iosim_trace_meta_set_ref(&m, "iotlb.hits", 7), 0);
    assert_int_equal(iosim_trace_meta_set_ref(&m, "iotlb.hits", 81031), 0);
    assert_int_equal(m.n_refs, 2);
    assert_int_equal(iosim_trace_meta_set_ref(&m, "Bad", 1), -1);
    assert_int_equal(iosim_trace_meta_set_ref(&m, "", 1), -1);
    char long_name[64];
    memset(long_name, 'a', 48);
    long_name[48] = '\0';
    assert_int_equal(iosim_trace_meta_set_ref(&m, long_name, 1), -1);
    long_name[47] = '\0'; /* 47 characters fit */
    iosim_trace_meta_t full = test_meta;
    assert_int_equal(iosim_trace_meta_set_ref(&full, long_name, 1), 0);
    for (int i = 1; i < IOSIM_META_REFS_MAX; i++) {
        char name[8];
        snprintf(name, sizeof name, "r%d", i);
        assert_int_equal(iosim_trace_meta_set_ref(&full, name, (uint64_t)i), 0);
    }
    assert_int_equal(iosim_trace_meta_set_ref(&full, "one_more", 1), -1);

    for (int text = 0; text <= 1; text++) {
        iosim_trace_reader_t *r =
            meta_roundtrip(wpath(text ? "refs.txt" : "refs.zst"), &m, text);
        const iosim_trace_meta_t *got = iosim_trace_meta(r);
        uint64_t v = 0;
        assert_int_equal(got->n_refs, 2);
        assert_true(iosim_trace_meta_ref(got, "iotlb.misses", &v));
        assert_int_equal(v, 9985);
        assert_true(iosim_trace_meta_ref(got, "iotlb.hits", &v));
        assert_int_equal(v, 81031);
        assert_false(iosim_trace_meta_ref(got, "iotlb.lookups", &v));
        iosim_trace_close(r);
    }
    /* the binary header holds them as key=value lines after requests= */
    check_v1_meta_block("refs1.zst", &m,
                        "source=gen-random\nkernel=6.1.0-56-amd64\n"
                        "policy=strict\nworkload=redis\ncpus=2\n"
                        "time_unit=ns\nhas_dma=1\nrequests=0\n"
                        "ref.iotlb.misses=9985\nref.iotlb.hits=81031\n");
    /* eight names and a long one in a header: read back whole */
    iosim_trace_reader_t *r =
        meta_roundtrip(wpath("refs-full.zst"), &full, false);
    assert_int_equal(iosim_trace_meta(r)->n_refs, IOSIM_META_REFS_MAX);
    assert_true(iosim_trace_meta_ref(iosim_trace_meta(r), long_name, NULL));
    iosim_trace_close(r);

    static const bad_meta_t bad[] = {
        {"ref.Iotlb=1\n", "ref.Iotlb: a reference name"},
        {"ref.=1\n", "ref.: a reference name"},
        {"ref.iotlb.misses=ten\n", "ref.iotlb.misses=ten: malformed"},
        {"ref.a=1\nref.b=1\nref.c=1\nref.d=1\nref.e=1\nref.f=1\n"
         "ref.g=1\nref.h=1\nref.i=1\n",
         "ref.i: more than 8"},
    };
    check_bad_meta(bad, sizeof bad / sizeof bad[0]);
}

/* Implied settings (FORMAT.md §3, key implies.<config key>): written
 * after the ref.* keys in the order set, read back by both forms and by
 * the v1 header as the bytes FORMAT.md gives; a later key of the same
 * name replaces the value; a bad key, a value with a control character,
 * an over-long one and a 33rd key are errors. */
static void test_meta_implies(void **s)
{
    (void)s;
    iosim_trace_meta_t m = test_meta;
    assert_int_equal(iosim_trace_meta_set_ref(&m, "iotlb.hits", 3), 0);
    assert_int_equal(
        iosim_trace_meta_set_implies(&m, "dev.mlx5.stride", "2048"), 0);
    assert_int_equal(iosim_trace_meta_set_implies(&m, "os.policy", "lazy"), 0);
    assert_int_equal(iosim_trace_meta_set_implies(&m, "dev.mlx5.stride", "64"),
                     0);
    assert_int_equal(m.n_implies, 2);
    assert_string_equal(m.implies[0].value, "64");
    assert_int_equal(iosim_trace_meta_set_implies(&m, "Os.policy", "x"), -1);
    assert_int_equal(iosim_trace_meta_set_implies(&m, "", "x"), -1);
    assert_int_equal(iosim_trace_meta_set_implies(&m, "a", "x\ny"), -1);
    char v64[65];
    memset(v64, '1', 64);
    v64[64] = '\0';
    assert_int_equal(iosim_trace_meta_set_implies(&m, "a", v64), -1);
    iosim_trace_meta_t full = test_meta;
    for (int i = 0; i < IOSIM_META_IMPLIES_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(iosim_trace_meta_set_implies(&full, key, "1"), 0);
    }
    assert_int_equal(iosim_trace_meta_set_implies(&full, "one_more", "1"), -1);

    for (int text = 0; text <= 1; text++) {
        iosim_trace_reader_t *r = meta_roundtrip(
            wpath(text ? "implies.txt" : "implies.zst"), &m, text);
        const iosim_trace_meta_t *got = iosim_trace_meta(r);
        assert_int_equal(got->n_implies, 2);
        assert_string_equal(got->implies[0].key, "dev.mlx5.stride");
        assert_string_equal(got->implies[0].value, "64");
        assert_string_equal(got->implies[1].key, "os.policy");
        assert_string_equal(got->implies[1].value, "lazy");
        assert_int_equal(got->n_refs, 1);
        iosim_trace_close(r);
    }
    check_v1_meta_block("implies1.zst", &m,
                        "source=gen-random\nkernel=6.1.0-56-amd64\n"
                        "policy=strict\nworkload=redis\ncpus=2\n"
                        "time_unit=ns\nhas_dma=1\nrequests=0\n"
                        "ref.iotlb.hits=3\nimplies.dev.mlx5.stride=64\n"
                        "implies.os.policy=lazy\n");
    /* 32 settings in a header: read back whole */
    iosim_trace_reader_t *r =
        meta_roundtrip(wpath("implies-full.zst"), &full, false);
    assert_int_equal(iosim_trace_meta(r)->n_implies, IOSIM_META_IMPLIES_MAX);
    assert_string_equal(iosim_trace_meta(r)->implies[31].key, "k31");
    iosim_trace_close(r);

    char many[1024] = "";
    for (int i = 0; i <= IOSIM_META_IMPLIES_MAX; i++) {
        size_t len = strlen(many);
        snprintf(many + len, sizeof many - len, "implies.k%d=1\n", i);
    }
    const bad_meta_t bad[] = {
        {"implies.Os.policy=lazy\n", "implies.Os.policy: an implied setting"},
        {"implies.=1\n", "implies.: an implied setting"},
        {many, "implies.k32: more than 32"},
    };
    check_bad_meta(bad, sizeof bad / sizeof bad[0]);
}

/* Not a regular file: a symbolic link (or a device, a FIFO) is written
 * through, not replaced by a renamed temporary; a directory is refused. */
static void test_write_through_link(void **s)
{
    (void)s;
    iosim_rec_t in[16];
    size_t n = extreme_recs(in);
    const char *target = wpath("link-target.zst");
    const char *link = wpath("link.zst");
    unlink(link);
    write_file(target, "old", 3);
    assert_int_equal(symlink(target, link), 0);
    iosim_err_t err;
    iosim_trace_writer_t *w = iosim_trace_create(link, &test_meta, false, &err);
    assert_non_null(w);
    assert_int_equal(iosim_trace_write(w, in, n, &err), 0);
    assert_int_equal(iosim_trace_commit(w, &err), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* still the link */
    iosim_rec_t out[32];
    long rc;
    assert_int_equal(read_all(target, out, 32, &rc, &err), n);
    assert_int_equal(rc, 0);
    unlink(link);

    char dir[512];
    snprintf(dir, sizeof dir, "%s", wpath("a-directory"));
    mkdir(dir, 0700);
    assert_null(iosim_trace_create(dir, &test_meta, false, &err));
    assert_non_null(strstr(err.msg, "is a directory"));
    rmdir(dir);
}

static void test_unknown_kind(void **s)
{
    (void)s;
    uint8_t raw[512];
    iosim_rec_t r = {.kind = IOSIM_REC_DMA, .size = 64};
    size_t h = enc_header(raw, "IOSIMTRC", 1, 48, "");
    enc_rec(raw + h, &r);
    r.kind = 9;
    enc_rec(raw + h + 48, &r);
    r.kind = IOSIM_REC_MARK;
    enc_rec(raw + h + 96, &r);
    const char *p = wpath("kind.zst");
    write_zst(p, raw, h + 144);
    iosim_err_t err;
    size_t n;
    assert_int_equal(drain(p, &n, &err), -1);
    assert_int_equal(n, 1); /* the good record before it is delivered */
    assert_non_null(strstr(err.msg, "record 1: unknown kind 9"));

    /* and the writer refuses to produce one */
    iosim_trace_writer_t *w =
        iosim_trace_create(wpath("k2.zst"), &test_meta, false, &err);
    assert_non_null(w);
    r.kind = 0;
    assert_int_equal(iosim_trace_write(w, &r, 1, &err), -1);
    assert_non_null(strstr(err.msg, "record 0"));
    iosim_trace_abort(w);
}

static void test_missing(void **s)
{
    (void)s;
    iosim_err_t err;
    const char *p = wpath("does/not/exist.zst");
    assert_null(iosim_trace_open(p, &err));
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_abort_leaves_nothing(void **s)
{
    (void)s;
    iosim_err_t err;
    const char *p = wpath("aborted.zst");
    iosim_trace_writer_t *w = iosim_trace_create(p, &test_meta, false, &err);
    assert_non_null(w);
    iosim_rec_t r = {.kind = IOSIM_REC_MAP};
    assert_int_equal(iosim_trace_write(w, &r, 1, &err), 0);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_true(file_exists(tmp));
    iosim_trace_abort(w);
    assert_false(file_exists(tmp));
    assert_false(file_exists(p));
}

static void test_text_parse(void **s)
{
    (void)s;
    iosim_rec_t r;
    char why[200];
    assert_int_equal(iosim_rec_from_text("MAP t=7 dev=3a:1f.7 iova=0x10 "
                                         "size=4096 phys=0xabc prot=w",
                                         &r, why, sizeof why),
                     0);
    assert_int_equal(r.kind, IOSIM_REC_MAP);
    assert_int_equal(r.device, (0x3a << 8) | (0x1f << 3) | 7);
    assert_int_equal(r.t, 7);
    assert_int_equal(r.aux, 0xabc);
    assert_int_equal(r.flags, IOSIM_PROT_WRITE);
    assert_int_equal(r.cpu, 0); /* omitted -> 0 */

    assert_int_equal(iosim_rec_from_text("INVAL t=1 desc=devtlb gran=global "
                                         "ih=1 am=52 addr=0x0",
                                         &r, why, sizeof why),
                     0);
    assert_int_equal(r.desc, IOSIM_DESC_DEVTLB);
    assert_int_equal(r.gran, IOSIM_GRAN_GLOBAL);
    assert_int_equal(r.flags, IOSIM_INVAL_IH);
    assert_int_equal(r.am, 52);

    assert_int_equal(iosim_rec_from_text("MARK id=18446744073709551615 "
                                         "type=end",
                                         &r, why, sizeof why),
                     0);
    assert_true(r.aux == UINT64_MAX);
    assert_int_equal(r.flags, IOSIM_MARK_END);

    assert_int_equal(iosim_rec_from_text("   # comment", &r, why, sizeof why),
                     1);
    assert_int_equal(iosim_rec_from_text("", &r, why, sizeof why), 1);

    // clang-format off
    static const struct { const char *line, *why; } bad[] = {
        {"FOO t=1", "unknown record kind"},
        {"MAP t=1 colour=red", "unknown field"},
        {"MAP t=1x", "malformed"},
        {"MAP cpu=256", "out of range"},
        {"MAP t=18446744073709551616", "out of range"},
        {"MAP dev=01:20.0", "malformed"},
        {"UNMAP prot=rw", "does not apply"},
        {"DMA dir=sideways", "malformed"},
        {"MAP t=1 t=2", "twice"},
        {"MAP phys=1 aux=2", "twice"},
        {"MAP t", "not key=value"},
        {"MAP t=-1", "malformed"},
    };
    // clang-format on
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        assert_int_equal(iosim_rec_from_text(bad[i].line, &r, why, sizeof why),
                         -1);
        if (!strstr(why, bad[i].why))
            fail_msg("'%s': reason '%s' lacks '%s'", bad[i].line, why,
                     bad[i].why);
    }
}

/* PCI names -> VT-d source-id (bus << 8 | dev << 3 | fn, VT-d §3.4.1):
 * the expected ids are written out from that definition. */
static void test_parse_bdf(void **s)
{
    (void)s;
    // clang-format off
    struct { const char *name; int rc; uint16_t sid; } cases[] = {
        {"3a:1f.7", 0, 0x3a << 8 | 0x1f << 3 | 7},
        {"0000:3b:00.0", 0, 0x3b << 8},        /* lspci -D / ftrace form */
        {"00:02.0", 0, 2 << 3},
        {"FF:1F.7", 0, 0xffff},
        {"3a:20.0", -1, 0},                    /* device > 31 */
        {"3a:00.8", -1, 0},                    /* function > 7 */
        {"100:00.0", -1, 0},                   /* bus > 0xff */
        {"10000:3b:00.0", -1, 0},              /* segment > 4 digits */
        {"3b:00.0 ", -1, 0},                   /* text after the name */
        {"3b:00", -1, 0},
        {"3b.00.0", -1, 0},
        {"0x3b:00.0", -1, 0},
        {"", -1, 0},
    };
    // clang-format on
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t sid = 0x1234;
        int rc = trace_parse_bdf(cases[i].name, strlen(cases[i].name), &sid);
        if (rc != cases[i].rc || (rc == 0 && sid != cases[i].sid))
            fail_msg("%s: rc %d sid %#x", cases[i].name, rc, sid);
        if (rc)
            assert_int_equal(sid, 0x1234); /* nothing stored on error */
    }
    /* the length bounds the name: an ftrace line goes on after it */
    const char *line = "0000:3b:00.2 dir=FROM_DEVICE";
    uint16_t sid;
    assert_int_equal(trace_parse_bdf(line, 12, &sid), 0);
    assert_int_equal(sid, 0x3b << 8 | 2);
}

/* iosim_replay(): opens the trace, feeds every sim, finishes them; the
 * last progress call reports the whole file and every record. */
typedef struct progress_seen {
    uint64_t calls, done, total, records;
} progress_seen_t;
static void note_progress(uint64_t done, uint64_t total, uint64_t records,
                          void *arg)
{
    progress_seen_t *p = arg;
    p->calls++;
    p->done = done;
    p->total = total;
    p->records = records;
}

static void test_replay_file(void **s)
{
    (void)s;
    iosim_rec_t r[3];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        r[i].t = 1000 * (uint64_t)(i + 1);
        r[i].device = 0x100;
        r[i].domain = 6;
        r[i].iova = 0xffff9000ull;
        r[i].size = 4096;
    }
    r[0].kind = IOSIM_REC_MAP;
    r[0].aux = 0x1234000ull;
    r[0].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    r[1].kind = IOSIM_REC_DMA;
    r[1].flags = IOSIM_DMA_WRITE;
    r[2].kind = IOSIM_REC_UNMAP;
    const char *p = wpath("replay.zst");
    write_trace(p, r, 3, false);

    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, "os.policy=strict", &err), 0);
    assert_int_equal(iosim_config_set(c, "sim.window_only=false", &err), 0);
    iosim_sim_t *sims[2];
    for (int i = 0; i < 2; i++)
        assert_non_null(sims[i] = iosim_sim_new(c, "strict", &test_meta, &err));
    progress_seen_t seen = {0};
    assert_int_equal(iosim_replay(p, sims, 2, note_progress, &seen, &err), 0);
    for (int i = 0; i < 2; i++) {
        uint64_t v = 0;
        assert_true(iosim_sim_stat_by_name(sims[i], "os.maps", &v));
        assert_int_equal(v, 1);
        assert_true(iosim_sim_stat_by_name(sims[i], "iotlb.lookups", &v));
        assert_int_equal(v, 1);
        assert_true(iosim_sim_stat_by_name(sims[i], "os.inval_iotlb", &v));
        assert_int_equal(v, 1);
        iosim_sim_free(sims[i]);
    }
    assert_true(seen.calls >= 1);
    assert_int_equal(seen.records, 3);
    assert_true(seen.total > 0);
    assert_int_equal(seen.done, seen.total);
    /* a missing file: -1 and a message naming it, no sim touched */
    assert_int_equal(iosim_replay(wpath("none.zst"), NULL, 0, NULL, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "none.zst"));
    iosim_config_free(c);
}

static void test_text_errors(void **s)
{
    (void)s;
    iosim_err_t err;
    size_t n;
    const char *p = wpath("bad1.txt");
    const char body[] = "# iosim-trace text v1\n#meta cpus=4\n\n"
                        "MAP t=1 size=4096\nMAP t=2 size=lots\n";
    write_file(p, body, sizeof body - 1);
    assert_int_equal(drain(p, &n, &err), -1);
    assert_int_equal(n, 1);
    char want[400];
    snprintf(want, sizeof want, "%s:5: size=lots: malformed value", p);
    assert_string_equal(err.msg, want);

    const char *p2 = wpath("bad2.txt");
    write_file(p2, "# iosim-trace text v2\n", 22);
    assert_null(iosim_trace_open(p2, &err));
    assert_non_null(strstr(err.msg, ":1: unsupported"));

    const char *p3 = wpath("bad3.txt");
    const char body3[] = "# iosim-trace text v1\nMARK t=1\n#meta cpus=1\n";
    write_file(p3, body3, sizeof body3 - 1);
    assert_int_equal(drain(p3, &n, &err), -1);
    assert_non_null(strstr(err.msg, ":3: #meta after"));

    const char *p4 = wpath("bad4.txt");
    const char body4[] = "# iosim-trace text v1\n#meta cpus=many\n";
    write_file(p4, body4, sizeof body4 - 1);
    assert_null(iosim_trace_open(p4, &err));
    assert_non_null(strstr(err.msg, ":2: metadata cpus"));

    assert_string_equal(iosim_rec_kind_name(IOSIM_REC_INVAL), "INVAL");
    assert_string_equal(iosim_rec_kind_name(0), "UNKNOWN");
}

/* ------------------------------------------------------------------ */
/* Format v2 (FORMAT.md §8): the exact bytes the writer produces, random
 * access through the block index, and the reader's errors on damaged
 * and hand-made files.  The payload of a three-record block is a literal
 * computed by hand from FORMAT.md (varints, zigzag deltas, change masks);
 * damaged files are made by this file's own frame assembler. */
static uint64_t rd_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void expect_error(const char *path, long want_rc, size_t want_n,
                         const char *want)
{
    iosim_err_t err;
    size_t n = 0;
    long rc = drain(path, &n, &err);
    if (rc != want_rc || n != want_n || !strstr(err.msg, want) ||
        !strstr(err.msg, path))
        fail_msg("%s: rc %ld after %zu records (want %ld after %zu), "
                 "message '%s' (want '%s')",
                 path, rc, n, want_rc, want_n, rc < 0 ? err.msg : "", want);
}

static const iosim_trace_meta_t meta3 = {
    .source = "t",
    .time_unit = "ns",
    .cpus = 2,
    .has_dma = 1,
};

/* The three records of the layout test and their block payload, encoded
 * by hand from FORMAT.md §8.3-8.4. */
// clang-format off
static const iosim_rec_t recs3[3] = {
    {.t = 100, .iova = 0x1000, .size = 4096, .aux = 0x5000, .device = 0x100,
     .domain = 6, .kind = IOSIM_REC_MAP, .cpu = 1, .flags = 3},
    {.t = 150, .iova = 0x1040, .size = 64, .device = 0x100,
     .kind = IOSIM_REC_DMA},
    {.t = 140, .iova = 0x1000, .size = 0, .device = 0x100,
     .kind = IOSIM_REC_DMA}, /* time and size go down: negative deltas */
};
// clang-format on
static const uint8_t payload3[] = {
    3,
    0,
    0,
    0,
    4,
    0,
    0,
    0,
    5,
    0,
    0,
    0,
    5,
    0,
    0,
    0,
    10,
    0,
    0,
    0,
    /* kinds */ 1,
    3,
    3,
    /* masks: MAP aux|device|domain|cpu|flags; DMA device; DMA none */
    0x3d,
    0x04,
    0x00,
    /* t: zz(100) = 200, zz(50) = 100, zz(-10) = 19 */
    0xc8,
    0x01,
    0x64,
    0x13,
    /* iova: zz(0x1000) = 0x2000, zz(0x1040) = 0x2080, zz(-0x40) = 0x7f */
    0x80,
    0x40,
    0x80,
    0x41,
    0x7f,
    /* size: zz(4096) = 8192, zz(64) = 128, zz(-64) = 127 */
    0x80,
    0x40,
    0x80,
    0x01,
    0x7f,
    /* extra: MAP aux zz(0x5000) = 0xa000, device 256, domain 6, cpu 1,
     * flags 3; DMA device 256 */
    0x80,
    0xc0,
    0x02,
    0x80,
    0x02,
    0x06,
    0x01,
    0x03,
    0x80,
    0x02,
};

static void write_recs(const char *path, const iosim_trace_meta_t *m,
                       const iosim_rec_t *r, size_t n)
{
    iosim_err_t err;
    iosim_trace_writer_t *w = iosim_trace_create(path, m, false, &err);
    assert_non_null(w);
    if (n)
        assert_int_equal(iosim_trace_write(w, r, n, &err), 0);
    assert_int_equal(iosim_trace_commit(w, &err), 0);
}

/* ------------------------------------------------------------ layout */
static void test_v2_layout(void **s)
{
    (void)s;
    iosim_trace_meta_t m = meta3;
    assert_int_equal(iosim_trace_meta_set_ref(&m, "iotlb.misses", 7), 0);
    const char *p = wpath("three.zst");
    write_recs(p, &m, recs3, 3);
    size_t n;
    uint8_t *f = slurp(p, &n);
    const char meta[] = "source=t\nkernel=\npolicy=\nworkload=\ncpus=2\n"
                        "time_unit=ns\nhas_dma=1\nrequests=0\n"
                        "ref.iotlb.misses=7\n";
    size_t ml = strlen(meta);
    /* 8.1 header frame */
    assert_int_equal(rd_le(f, 4), 0x184D2A50);
    assert_int_equal(rd_le(f + 4, 4), 16 + ml);
    assert_memory_equal(f + 8, "IOSIMTRC", 8);
    assert_int_equal(rd_le(f + 16, 4), 2);
    assert_int_equal(rd_le(f + 20, 4), ml);
    assert_memory_equal(f + 24, meta, ml);
    /* 8.2 block header and frame */
    size_t h = 24 + ml;
    assert_int_equal(rd_le(f + h, 4), 0x184D2A51);
    assert_int_equal(rd_le(f + h + 4, 4), 8);
    assert_int_equal(rd_le(f + h + 8, 4), 3);
    size_t fl = (size_t)rd_le(f + h + 12, 4);
    const uint8_t *z = f + h + 16;
    assert_int_equal(rd_le(z, 4), 0xFD2FB528);
    assert_true(z[4] & 0x04); /* Content_Checksum_flag */
    assert_int_equal(ZSTD_findFrameCompressedSize(z, fl), fl);
    assert_int_equal(ZSTD_getFrameContentSize(z, fl), sizeof payload3);
    uint8_t out[256];
    size_t k = ZSTD_decompress(out, sizeof out, z, fl);
    assert_int_equal(k, sizeof payload3);
    assert_memory_equal(out, payload3, sizeof payload3);
    /* 8.5 index and footer */
    const uint8_t *x = z + fl;
    assert_int_equal(rd_le(x, 4), 0x184D2A52);
    assert_int_equal(rd_le(x + 4, 4), 8 + 16 + 16);
    assert_memory_equal(x + 8, "IOSIMIDX", 8);
    assert_int_equal(rd_le(x + 16, 8), h);
    assert_int_equal(rd_le(x + 24, 4), fl);
    assert_int_equal(rd_le(x + 28, 4), 3);
    assert_int_equal(rd_le(x + 32, 8), 3);
    assert_int_equal(rd_le(x + 40, 4), 1);
    assert_memory_equal(x + 44, "IXV2", 4);
    assert_int_equal(n, (size_t)(x + 48 - f));
    /* a plain zstd decoder skips the skippable frames: the payload */
    k = ZSTD_decompress(out, sizeof out, f, n);
    assert_int_equal(k, sizeof payload3);
    assert_memory_equal(out, payload3, sizeof payload3);
    free(f);

    /* read back: the records and the metadata */
    iosim_rec_t *got;
    iosim_trace_meta_t gm;
    assert_int_equal(read_whole_trace(p, &got, &gm), 3);
    assert_memory_equal(got, recs3, sizeof recs3);
    uint64_t v;
    assert_true(iosim_trace_meta_ref(&gm, "iotlb.misses", &v));
    assert_int_equal(v, 7);
    free(got);
}

/* An empty trace: header and an index of no blocks. */
static void test_v2_empty(void **s)
{
    (void)s;
    const char *p = wpath("empty.zst");
    write_recs(p, &meta3, NULL, 0);
    size_t n;
    uint8_t *f = slurp(p, &n);
    assert_int_equal(rd_le(f + n - 16, 8), 0);
    assert_int_equal(rd_le(f + n - 8, 4), 0);
    assert_int_equal(rd_le(f + n - 32, 4), 0x184D2A52);
    free(f);
    iosim_err_t err;
    size_t k;
    assert_int_equal(drain(p, &k, &err), 0);
    assert_int_equal(k, 0);
}

/* --------------------------------------------------- random access */
/* A NIC-like stream: DMAs near a moving base, maps and unmaps, and now
 * and then any field at random. */
static void make_recs(iosim_rec_t *r, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        t += rnd() % 2000;
        r[i].t = rnd() % 50 ? t : rnd();
        r[i].kind = (uint8_t)(rnd() % 4 ? IOSIM_REC_DMA : 1 + rnd() % 5);
        r[i].iova = 0xffff0000 + (rnd() % 4096) * 64;
        r[i].size = rnd() % 3 ? 1514 : rnd() >> (rnd() & 63);
        r[i].device = 0x100;
        if (rnd() % 20 == 0) {
            r[i].aux = rnd();
            r[i].pasid = (uint32_t)rnd();
            r[i].domain = (uint16_t)rnd();
            r[i].cpu = (uint8_t)rnd();
            r[i].flags = (uint8_t)rnd();
            r[i].desc = (uint8_t)rnd();
            r[i].gran = (uint8_t)rnd();
            r[i].am = (uint8_t)rnd();
            r[i].reserved = (uint16_t)rnd();
        }
    }
}

/* The index locates every block; each decodes on its own (codec API)
 * to the records written at its place, in one call and in short batches. */
#define NRAND (3 * TRACE_V2_BLOCK_RECS + 123)
static void test_v2_index_seek(void **s)
{
    (void)s;
    iosim_rec_t *in = malloc(NRAND * sizeof *in);
    iosim_rec_t *out = malloc(TRACE_V2_BLOCK_RECS * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    make_recs(in, NRAND);
    const char *p = wpath("rand.zst");
    write_recs(p, &meta3, in, NRAND);
    size_t n;
    uint8_t *f = slurp(p, &n);
    uint64_t blocks = rd_le(f + n - 8, 4);
    assert_int_equal(blocks, 4);
    assert_int_equal(rd_le(f + n - 16, 8), NRAND);
    const uint8_t *x = f + n - (32 + 16 * blocks);
    assert_int_equal(rd_le(x, 4), 0x184D2A52);
    uint64_t first = 0;
    for (uint64_t j = blocks; j-- > 0;) { /* last block first: seeking */
        first = 0;
        for (uint64_t i = 0; i < j; i++)
            first += rd_le(x + 16 + 16 * i + 12, 4);
        uint64_t off = rd_le(x + 16 + 16 * j, 8);
        uint32_t fl = (uint32_t)rd_le(x + 16 + 16 * j + 8, 4);
        uint32_t nr = (uint32_t)rd_le(x + 16 + 16 * j + 12, 4);
        assert_int_equal(nr, j < 3 ? TRACE_V2_BLOCK_RECS : 123);
        assert_int_equal(rd_le(f + off, 4), 0x184D2A51);
        const uint8_t *z = f + off + 16;
        size_t cap = (size_t)ZSTD_getFrameContentSize(z, fl);
        uint8_t *pay = malloc(cap);
        assert_int_equal(ZSTD_decompress(pay, cap, z, fl), cap);
        trace_v2_dec_t d;
        char why[160];
        assert_int_equal(trace_v2_dec_begin(&d, pay, cap, why, sizeof why), 0);
        size_t good;
        assert_int_equal(trace_v2_dec_read(&d, out, nr, &good, why, sizeof why),
                         0);
        assert_int_equal(good, nr);
        assert_memory_equal(out, in + first, nr * sizeof *out);
        /* again in batches of 1, 2, 3, ..., 9 records: a batch of one
         * takes only the plain loop, longer ones its runs of DMA records
         * without a change mask (dec_run) that end inside the batch */
        memset(out, 0, nr * sizeof *out);
        assert_int_equal(trace_v2_dec_begin(&d, pay, cap, why, sizeof why), 0);
        for (size_t at = 0, b = 0; at < nr; at += good, b++) {
            size_t want = 1 + b % 9;
            assert_int_equal(
                trace_v2_dec_read(&d, out + at, want, &good, why, sizeof why),
                0);
            assert_int_equal(good, want < nr - at ? want : nr - at);
        }
        assert_memory_equal(out, in + first, nr * sizeof *out);
        free(pay);
    }
    free(f);
    /* and the plain reader, in batches of 1000 */
    iosim_rec_t *all;
    assert_int_equal(read_whole_trace(p, &all, NULL), NRAND);
    assert_memory_equal(all, in, NRAND * sizeof *in);
    free(all);
    free(in);
    free(out);
}

/* ------------------------------------------------------------ errors */
/* Assembles a v2 file from a header of `version` and one block whose
 * payload is given, with a consistent index: the frames of FORMAT.md
 * §8.1-8.5, written here independently of the module. */
static void assemble(const char *path, uint32_t version, const uint8_t *pay,
                     size_t plen, uint32_t nrec, bool checksum)
{
    const char meta[] = "source=t\n";
    size_t ml = sizeof meta - 1;
    size_t cap = 64 + ml + ZSTD_compressBound(plen) + 64;
    uint8_t *b = malloc(cap);
    size_t o = 0;
    le(b, 0x184D2A50, 4);
    le(b + 4, 16 + ml, 4);
    memcpy(b + 8, "IOSIMTRC", 8);
    le(b + 16, version, 4);
    le(b + 20, ml, 4);
    memcpy(b + 24, meta, ml);
    o = 24 + ml;
    size_t boff = o;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
    size_t fl = ZSTD_compress2(c, b + o + 16, cap - o - 16 - 64, pay, plen);
    ZSTD_freeCCtx(c);
    assert_false(ZSTD_isError(fl));
    le(b + o, 0x184D2A51, 4);
    le(b + o + 4, 8, 4);
    le(b + o + 8, nrec, 4);
    le(b + o + 12, fl, 4);
    o += 16 + fl;
    le(b + o, 0x184D2A52, 4);
    le(b + o + 4, 40, 4);
    memcpy(b + o + 8, "IOSIMIDX", 8);
    le(b + o + 16, boff, 8);
    le(b + o + 24, fl, 4);
    le(b + o + 28, nrec, 4);
    le(b + o + 32, nrec, 8);
    le(b + o + 40, 1, 4);
    memcpy(b + o + 44, "IXV2", 4);
    write_file(path, b, o + 48);
    free(b);
}

static void test_v2_handmade(void **s)
{
    (void)s;
    uint8_t pay[sizeof payload3 + 16];
    const char *p = wpath("hand.zst");

    /* the literal payload itself is valid and decodes to recs3 */
    assemble(p, 2, payload3, sizeof payload3, 3, true);
    iosim_rec_t *got;
    assert_int_equal(read_whole_trace(p, &got, NULL), 3);
    assert_memory_equal(got, recs3, sizeof recs3);
    free(got);

    assemble(p, 3, payload3, sizeof payload3, 3, true);
    expect_error(p, -100, 0, "unsupported trace format version 3");
    assemble(p, 2, payload3, sizeof payload3, 3, false);
    expect_error(p, -1, 0,
                 "block 0: not a zstd frame with a content "
                 "checksum");
    assemble(p, 2, payload3, sizeof payload3, 4, true);
    expect_error(p, -1, 0,
                 "block 0: bad payload: 3 records in the payload, "
                 "4 in the block header");
    assemble(p, 2, payload3, sizeof payload3, 0, true);
    expect_error(p, -1, 0, "block 0: bad block header: 0 records");

    /* record 1 of kind 9: record 0 comes first */
    memcpy(pay, payload3, sizeof payload3);
    pay[21] = 9;
    assemble(p, 2, pay, sizeof payload3, 3, true);
    expect_error(p, -1, 1, "record 1 (block 0): unknown kind 9");

    /* lengths that do not add up to the payload */
    memcpy(pay, payload3, sizeof payload3);
    pay[16] = 11;
    assemble(p, 2, pay, sizeof payload3, 3, true);
    expect_error(p, -1, 0, "block 0: bad payload: column lengths add up");

    /* one byte moved from the time column to the iova column: the time
     * column ends inside record 2's varint... */
    memcpy(pay, payload3, sizeof payload3);
    pay[4] = 3;
    pay[8] = 6;
    assemble(p, 2, pay, sizeof payload3, 3, true);
    expect_error(p, -1, 2, "record 2 (block 0): the time column ends early");
    /* ...and with the time column one longer, bytes are left over */
    pay[4] = 5;
    pay[8] = 4;
    assemble(p, 2, pay, sizeof payload3, 3, true);
    expect_error(p, -1, 3, "block 0: bad payload: bytes left");

    /* a pasid of 2^32: the DMA's mask asks for a pasid (0x02) */
    static const uint8_t big_pasid[] = {
        1, 0, 0, 0, 1, 0, 0,    0, 1, 0, 0,    0,    1,    0,    0,
        0, 5, 0, 0, 0, 3, 0x02, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10,
    };
    assemble(p, 2, big_pasid, sizeof big_pasid, 1, true);
    expect_error(p, -1, 0,
                 "record 0 (block 0): pasid 4294967296 does not "
                 "fit");

    /* another skippable frame first: not ours */
    uint8_t junk[16] = {0x5f, 0x2a, 0x4d, 0x18, 8, 0, 0, 0};
    write_file(p, junk, sizeof junk);
    expect_error(p, -100, 0, "wrong magic");
}

/* A run of 30 DMA records without change masks whose time column ends
 * inside the last record's varint (a continuation byte, then the iova
 * column): the run loop must stop before a column's last 10 bytes, so
 * the plain loop reports record 29, as it would without runs. */
static void test_v2_run_truncated(void **s)
{
    (void)s;
    enum { N = 30 };
    uint8_t pay[TRACE_V2_PAYLOAD_HEADER + 5 * N];
    memset(pay, 0, sizeof pay);
    le(pay, N, 4);
    le(pay + 4, N, 4); /* time, iova, size columns of N bytes each */
    le(pay + 8, N, 4);
    le(pay + 12, N, 4);
    uint8_t *kinds = pay + TRACE_V2_PAYLOAD_HEADER, *tcol = kinds + 2 * N;
    for (int i = 0; i < N; i++) {
        kinds[i] = IOSIM_REC_DMA;
        tcol[i] = 2; /* zigzag +1 */
    }
    tcol[N - 1] = 0x80; /* the next byte is the iova column's first */
    trace_v2_dec_t d;
    char why[160];
    iosim_rec_t out[N];
    size_t good = 0;
    assert_int_equal(trace_v2_dec_begin(&d, pay, sizeof pay, why, sizeof why),
                     0);
    assert_int_equal(trace_v2_dec_read(&d, out, N, &good, why, sizeof why), -1);
    assert_int_equal(good, N - 1);
    assert_string_equal(why, "the time column ends early");
    for (int i = 0; i < N - 1; i++)
        assert_int_equal(out[i].t, (uint64_t)i + 1);
}

/* Damage to a file the writer made: two blocks (records of block 0 are
 * delivered before an error in block 1). */
static void test_v2_damaged(void **s)
{
    (void)s;
    size_t nrec = TRACE_V2_BLOCK_RECS + 10;
    iosim_rec_t *in = malloc(nrec * sizeof *in);
    make_recs(in, nrec);
    const char *src = wpath("two.zst");
    write_recs(src, &meta3, in, nrec);
    free(in);
    size_t n;
    uint8_t *f = slurp(src, &n);
    const uint8_t *x = f + n - (32 + 16 * 2);
    size_t b1 = (size_t)rd_le(x + 32, 8), fl1 = (size_t)rd_le(x + 40, 4);
    size_t xoff = (size_t)(x - f);
    const char *p = wpath("damaged.zst");
    uint8_t *g = malloc(n + 1);

    /* the checksum (last 4 bytes of block 1's frame) */
    memcpy(g, f, n);
    g[b1 + 16 + fl1 - 1] ^= 0x01;
    write_file(p, g, n);
    char want[128];
    snprintf(want, sizeof want, "block 1 (records %u to %zu): wrong checksum",
             TRACE_V2_BLOCK_RECS, nrec - 1);
    expect_error(p, -1, TRACE_V2_BLOCK_RECS, want);

    /* cut inside block 1, at its end, inside the index */
    write_file(p, f, b1 + 16 + fl1 / 2);
    snprintf(want, sizeof want,
             "truncated after %u records (the file ends "
             "inside block 1",
             TRACE_V2_BLOCK_RECS);
    expect_error(p, -1, TRACE_V2_BLOCK_RECS, want);
    write_file(p, f, xoff);
    snprintf(want, sizeof want,
             "truncated after %zu records (the file ends "
             "after block 1 without the block index)",
             nrec);
    expect_error(p, -1, nrec, want);
    write_file(p, f, n - 5);
    expect_error(p, -1, nrec, "inside the block index");
    write_file(p, f, 10);
    expect_error(p, -100, 0, "truncated after 0 records");

    /* an index entry, the footer's total, the index length */
    memcpy(g, f, n);
    g[xoff + 16 + 16 + 12] ^= 0x01; /* block 1's record count */
    write_file(p, g, n);
    expect_error(p, -1, nrec, "bad index: entry 1 says");
    memcpy(g, f, n);
    g[n - 16] ^= 0x01;
    write_file(p, g, n);
    expect_error(p, -1, nrec, "bad index: the footer says");
    memcpy(g, f, n);
    g[xoff + 4] ^= 0x10;
    write_file(p, g, n);
    expect_error(p, -1, nrec, "bad index: its frame holds");

    /* a byte after the index; a block header's magic */
    memcpy(g, f, n);
    g[n] = 0;
    write_file(p, g, n + 1);
    expect_error(p, -1, nrec, "data after the block index");
    memcpy(g, f, n);
    g[b1] ^= 0x04;
    write_file(p, g, n);
    expect_error(p, -1, TRACE_V2_BLOCK_RECS, "block 1: bad block header");
    free(g);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_binary),
        cmocka_unit_test(test_roundtrip_text),
        cmocka_unit_test(test_text_line_roundtrip),
        cmocka_unit_test(test_binary_layout),
        cmocka_unit_test(test_100k),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_meta_refs),
        cmocka_unit_test(test_meta_implies),
        cmocka_unit_test(test_write_through_link),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_text_parse),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_replay_file),
        cmocka_unit_test(test_parse_bdf),
        cmocka_unit_test(test_v2_layout),
        cmocka_unit_test(test_v2_empty),
        cmocka_unit_test(test_v2_index_seek),
        cmocka_unit_test(test_v2_handmade),
        cmocka_unit_test(test_v2_damaged),
        cmocka_unit_test(test_v2_run_truncated),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
