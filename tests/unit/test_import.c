/* test_import.c — the ftrace and QEMU importers (sim/trace/import_*.c).
 *
 * Concepts: expected values come from routes independent of the parser:
 *   counts by plain substring counting of the raw committed excerpts (the
 *   same as `grep -c`), descriptor fields decoded by hand from MODEL.md
 *   §3.5, the DMA count of the QEMU excerpt from a `sed | grep -c` noted
 *   next to the number, and a hand-made guest/QEMU pair whose merged
 *   order is written out by hand from the alignment rule (import_qemu.c).
 * Assumptions: IOSIM_SOURCE_DIR points at the checkout; tests/data holds
 *   ftrace-redis-strict.txt, ftrace-redis-lazy.txt (head -n 300 + tail -n
 *   30 of the captures' trace.txt), ftrace-redis-strict-qemu-guest.txt
 *   (head -n 60 of redis-virtio-strict-cm-on-with-qemu-trace/trace.txt, a
 *   shared capture retired with its trace redis-strict-qemu.zst, issue 20;
 *   git history keeps it)
 *   and qemu-redis-strict.log (lines 2760..3230 of its qemu-trace.log);
 *   Linux 6.12 (6.12.95+deb12-amd64): ftrace-redis-strict-612.txt and
 *   ftrace-redis-lazy-612.txt (head -n 300 + tail -n 30 of
 *   traces/raw/redis-{strict,lazy}-612/trace.txt.zst; they carry the
 *   dma:* events 6.12 adds), ftrace-redis-strict-612-qemu-guest.txt
 *   (head -n 60 of traces/raw/redis-strict-612-qemu-trace/trace.txt.zst)
 *   and qemu-redis-strict-612.log (lines 5560..5948 of its
 *   qemu-trace.log, the `tid@sec.usec:` stamps removed so that the
 *   alignment runs as on an unstamped log); an e1000e memcached capture
 *   with two CPUs' descriptors in another order than QEMU's (6.1):
 *   ftrace-mc-e1000e-guest-cut.txt and qemu-mc-e1000e-cut.log.zst (see
 *   test_qemu_e1000e_tie_cut).
 * Not modeled: the command line (tests/cli would cover it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>
#include <cmocka.h>

#include "base/vec.h"
#include "trace/import.h"

#include "test_util.h"

#define DATA IOSIM_SOURCE_DIR "/tests/data/"

/* ---------------------------------------------------------------- */
/* helpers                                                          */
/* ---------------------------------------------------------------- */
typedef struct recs {
    iosim_rec_t *r;
    size_t n, cap;
} recs_t;

static int collect(void *arg, const iosim_rec_t *recs, size_t n,
                   iosim_err_t *err)
{
    (void)err;
    recs_t *c = arg;
    assert_int_equal(vec_reserve(&c->r, &c->cap, c->n + n, 2 * n), 0);
    memcpy(c->r + c->n, recs, n * sizeof *recs);
    c->n += n;
    return 0;
}

static size_t count_kind(const recs_t *c, unsigned kind)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->r[i].kind == kind;
    return n;
}

static size_t count_desc(const recs_t *c, unsigned desc)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->r[i].kind == IOSIM_REC_INVAL && c->r[i].desc == desc;
    return n;
}

/* Lines of path containing needle (grep -c -F needle path); with
 * from/to markers, only lines after a line containing `from` up to and
 * including the line containing `to` (the marker lines count too). */
static size_t grep_c(const char *path, const char *needle, const char *from,
                     const char *to)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    size_t n = 0;
    bool on = from == NULL;
    while (fgets(line, sizeof line, f)) {
        if (from && strstr(line, from))
            on = true;
        if (on && strstr(line, needle))
            n++;
        if (to && strstr(line, to))
            on = false;
    }
    fclose(f);
    return n;
}

static import_opts_t default_opts(void)
{
    import_opts_t o = {0};
    o.device = 0x0100;
    o.domain = -1;
    return o;
}

/* Runs a source on path into recs; returns the run's result. */
static int run_import(const char *source, const char *path,
                      const import_opts_t *opts, recs_t *out,
                      import_counts_t *counts, iosim_err_t *err)
{
    const import_source_t *src = import_find(source);
    assert_non_null(src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    import_sink_t *sink = import_sink_callback(collect, out, opts, counts);
    assert_non_null(sink);
    int rc = import_run(src, f, path, sink, opts, counts, err);
    if (rc == 0)
        rc = import_sink_finish(sink, err);
    import_sink_free(sink);
    fclose(f);
    return rc;
}

/* Makes a file from tmpl ("/tmp/..._XXXXXX", rewritten in place to its
 * name) holding text; the caller unlinks it. */
static void temp_file(char *tmpl, const char *text)
{
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    write_file(tmpl, text, strlen(text));
}

/* A hand-made QEMU log and guest ftrace, written to files named from
 * gpath and qpath ("/tmp/..._XXXXXX", rewritten to the names the
 * messages give), imported and removed again; the run's result. */
static int import_pair_rc(const char *guest, const char *qemu, recs_t *got,
                          import_counts_t *c, iosim_err_t *err, char *gpath,
                          char *qpath)
{
    temp_file(gpath, guest);
    temp_file(qpath, qemu);
    import_opts_t o = default_opts();
    o.guest_path = gpath;
    int rc = run_import("qemu", qpath, &o, got, c, err);
    unlink(gpath);
    unlink(qpath);
    return rc;
}

/* The same, which must succeed. */
static void import_pair(const char *guest, const char *qemu, recs_t *got,
                        import_counts_t *c)
{
    char gpath[] = "/tmp/test_import_g_XXXXXX";
    char qpath[] = "/tmp/test_import_q_XXXXXX";
    iosim_err_t err = {0};
    if (import_pair_rc(guest, qemu, got, c, &err, gpath, qpath) != 0)
        fail_msg("import: %s", err.msg);
}

/* ---------------------------------------------------------------- */
/* unit pieces                                                      */
/* ---------------------------------------------------------------- */
static void test_time_digits(void **state)
{
    (void)state;
    uint64_t ns = 0;
    assert_int_equal(import_parse_time_ns("6.833234:", &ns), 8);
    assert_int_equal(ns, UINT64_C(6833234000));
    assert_int_equal(import_parse_time_ns("1042.551230123", &ns), 14);
    assert_int_equal(ns, UINT64_C(1042551230123));
    /* 0.1 has no exact binary float; digits give exactly 100000000 */
    assert_int_equal(import_parse_time_ns("0.1", &ns), 3);
    assert_int_equal(ns, UINT64_C(100000000));
    assert_int_equal(import_parse_time_ns("x1.0", &ns), 0);
}

/* MODEL.md §3.5 by hand:
 *  0x600f2: type 2 (IOTLB), G = (0xf2>>4)&3 = 3 (PSI), DID = 0x6
 *  0xffff6001: ADDR = 0xffff6000, IH = bit 6 = 0, AM = 1 */
static void test_decode_by_hand(void **state)
{
    (void)state;
    iosim_rec_t r;
    assert_int_equal(import_decode_qi(0x600f2, 0xffff6001, &r), 0);
    assert_int_equal(r.kind, IOSIM_REC_INVAL);
    assert_int_equal(r.desc, IOSIM_DESC_IOTLB);
    assert_int_equal(r.gran, IOSIM_GRAN_PAGE);
    assert_int_equal(r.domain, 6);
    assert_int_equal(r.am, 1);
    assert_int_equal(r.flags & IOSIM_INVAL_IH, 0);
    assert_int_equal(r.iova, 0xffff6000);
    assert_int_equal(r.aux, 0x600f2);
    /* 0x200f2 0xfffd0044: DID 2, IH (bit 6) = 1, AM = 4 */
    assert_int_equal(import_decode_qi(0x200f2, 0xfffd0044, &r), 0);
    assert_int_equal(r.domain, 2);
    assert_int_equal(r.flags & IOSIM_INVAL_IH, IOSIM_INVAL_IH);
    assert_int_equal(r.am, 4);
    assert_int_equal(r.iova, 0xfffd0000);
    /* 0x600e2: G = (0xe2>>4)&3 = 2, domain-selective */
    assert_int_equal(import_decode_qi(0x600e2, 0, &r), 0);
    assert_int_equal(r.gran, IOSIM_GRAN_DOMAIN);
    /* devTLB 0x10000000003: SID = 0x0100 (01:00.0); 0xffff6001: S = 1,
     * bit 12 of the address is 0 => 8 KiB => am 1, addr 0xffff6000 */
    assert_int_equal(import_decode_qi(0x10000000003, 0xffff6001, &r), 0);
    assert_int_equal(r.desc, IOSIM_DESC_DEVTLB);
    assert_int_equal(r.device, 0x0100);
    assert_int_equal(r.am, 1);
    assert_int_equal(r.iova, 0xffff6000);
    /* 0xfffd7001 (MODEL.md §2.3 example, mask 4): bits 14:12 set, bit 15
     * clear => 64 KiB => am 4, addr 0xfffd0000 */
    assert_int_equal(import_decode_qi(0x3b0000000003, 0xfffd7001, &r), 0);
    assert_int_equal(r.am, 4);
    assert_int_equal(r.iova, 0xfffd0000);
    assert_int_equal(r.device, 0x3b00);
    /* 0x7ffffffffffff001: every bit 62:12 set => whole device */
    assert_int_equal(import_decode_qi(0x10000000003, 0x7ffffffffffff001, &r),
                     0);
    assert_int_equal(r.gran, IOSIM_GRAN_GLOBAL);
    assert_int_equal(r.am, 52);
    /* P_IOTLB 0x20036 (MODEL.md §2.3): type 6, G 3, DID 2, PASID 0 */
    assert_int_equal(import_decode_qi(0x20036, 0xfffd0004, &r), 0);
    assert_int_equal(r.desc, IOSIM_DESC_PIOTLB);
    assert_int_equal(r.gran, 3);
    assert_int_equal(r.domain, 2);
    assert_int_equal(r.am, 4);
    /* page group response (9) is not an invalidation */
    assert_int_equal(import_decode_qi(0x9, 0, &r), -1);
}

/* One real line of ftrace-redis-strict.txt, field by field. */
static void test_parse_real_line(void **state)
{
    (void)state;
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    ftrace_parser_t *p = ftrace_parser_new(NULL, "x", &o, NULL, &c, NULL);
    assert_non_null(p);
    iosim_rec_t r;
    char why[256];
    const char *qi = "     ksoftirqd/1-21      [001] d.s1.     6.837281: "
                     "qi_submit: iotlb_inv dmar0: 0x600f2 0xffff6001 0x0 0x0";
    assert_int_equal(ftrace_parse_line(p, qi, &r, why, sizeof why), 1);
    assert_int_equal(r.t, UINT64_C(6837281000));
    assert_int_equal(r.cpu, 1);
    assert_int_equal(r.desc, IOSIM_DESC_IOTLB);
    assert_int_equal(r.domain, 6);
    assert_int_equal(r.am, 1);
    assert_int_equal(r.iova, 0xffff6000);
    const char *map = "          <idle>-0       [001] b.s2.     6.836023: map: "
                      "IOMMU: iova=0x00000000ffff9000 - 0x00000000ffffa000 "
                      "paddr=0x0000000001b1f000 size=4096";
    assert_int_equal(ftrace_parse_line(p, map, &r, why, sizeof why), 1);
    assert_int_equal(r.kind, IOSIM_REC_MAP);
    assert_int_equal(r.iova, 0xffff9000);
    assert_int_equal(r.size, 4096);
    assert_int_equal(r.aux, 0x1b1f000);
    assert_int_equal(r.device, 0x0100);
    /* trace-cmd report form: no flags column, comm with a space */
    const char *tc = "  Web Content-77  [003]  12.000000500: unmap: IOMMU: "
                     "iova=0x00000000ffff6000 - 0x00000000ffff8000 "
                     "size=8192 unmapped_size=4096";
    assert_int_equal(ftrace_parse_line(p, tc, &r, why, sizeof why), 1);
    assert_int_equal(r.kind, IOSIM_REC_UNMAP);
    assert_int_equal(r.cpu, 3);
    assert_int_equal(r.t, UINT64_C(12000000500));
    assert_int_equal(r.size, 4096); /* unmapped_size */
    ftrace_parser_free(p);
}

/* ---------------------------------------------------------------- */
/* committed real excerpts                                          */
/* ---------------------------------------------------------------- */
static void check_excerpt_counts(const char *path)
{
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    assert_int_equal(count_kind(&got, IOSIM_REC_MAP),
                     grep_c(path, " map: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP),
                     grep_c(path, " unmap: ", NULL, NULL));
    assert_int_equal(count_desc(&got, IOSIM_DESC_IOTLB),
                     grep_c(path, "qi_submit: iotlb_inv ", NULL, NULL));
    assert_int_equal(count_desc(&got, IOSIM_DESC_DEVTLB),
                     grep_c(path, "qi_submit: dev_tlb_inv ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL),
                     grep_c(path, "qi_submit: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_MARK),
                     grep_c(path, "tracing_mark_write: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_DMA), 0);
    /* 6.12's dma_map_page / dma_unmap_page follow their iommu:map /
     * unmap: duplicates, skipped (none in the 6.1 excerpts) */
    assert_int_equal(c.dma_api_skipped,
                     grep_c(path, " dma_map_page: ", NULL, NULL) +
                         grep_c(path, " dma_unmap_page: ", NULL, NULL));
    assert_int_equal(c.dma_api_used, 0);
    /* every qi_submit of both captures is 0x600f2 / 0x600e2 / devTLB:
     * `grep -o 'iotlb_inv dmar0: 0x[0-9a-f]*' | sort -u` => DID 6 */
    assert_int_equal(c.domain, 6);
    for (size_t i = 0; i < got.n; i++)
        if (got.r[i].kind == IOSIM_REC_MAP)
            assert_int_equal(got.r[i].domain, 6);
    /* header "#P:2", "entries-in-buffer/entries-written: X/X" */
    assert_false(c.overrun);
    /* the first record is the first event line (time order kept) */
    for (size_t i = 1; i < got.n; i++)
        assert_true(got.r[i].t >= got.r[i - 1].t);
    free(got.r);
}

static void test_strict_excerpt(void **state)
{
    (void)state;
    check_excerpt_counts(DATA "ftrace-redis-strict.txt");
}

static void test_lazy_excerpt(void **state)
{
    (void)state;
    check_excerpt_counts(DATA "ftrace-redis-lazy.txt");
}

static void test_strict_excerpt_612(void **state)
{
    (void)state;
    check_excerpt_counts(DATA "ftrace-redis-strict-612.txt");
}

static void test_lazy_excerpt_612(void **state)
{
    (void)state;
    check_excerpt_counts(DATA "ftrace-redis-lazy-612.txt");
}

/* ---------------------------------------------------------------- */
/* One test per kernel: the first records of a real capture, each    */
/* written out by hand from its raw line (MODEL.md §2.2, §3.5)       */
/* ---------------------------------------------------------------- */
typedef struct want {
    unsigned kind; /* IOSIM_REC_*                            */
    uint64_t t;    /* ns: the line's seconds.micro * 1e9      */
    unsigned cpu;
    unsigned desc; /* INVAL: IOSIM_DESC_*                    */
    uint64_t iova; /* MAP/UNMAP: iova; INVAL: address         */
    uint64_t size; /* MAP/UNMAP                              */
    uint64_t aux;  /* MAP: paddr; INVAL: qw0                 */
    unsigned am, gran, flags, domain, device;
} want_t;

static void check_first_records(const char *path, const want_t *w, size_t n)
{
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    assert_true(got.n >= n);
    for (size_t i = 0; i < n; i++) {
        const iosim_rec_t *r = &got.r[i];
        assert_int_equal(r->kind, w[i].kind);
        assert_int_equal(r->t, w[i].t);
        assert_int_equal(r->cpu, w[i].cpu);
        assert_int_equal(r->iova, w[i].iova);
        assert_int_equal(r->domain, w[i].domain);
        assert_int_equal(r->device, w[i].device);
        if (r->kind == IOSIM_REC_INVAL) {
            assert_int_equal(r->desc, w[i].desc);
            assert_int_equal(r->aux, w[i].aux);
            assert_int_equal(r->am, w[i].am);
            assert_int_equal(r->gran, w[i].gran);
            assert_int_equal(r->flags, w[i].flags);
        } else {
            assert_int_equal(r->size, w[i].size);
            if (r->kind == IOSIM_REC_MAP)
                assert_int_equal(r->aux, w[i].aux);
        }
    }
    free(got.r);
}

#define W_UNMAP(t, cpu, iova, size)                                            \
    {                                                                          \
        IOSIM_REC_UNMAP, t, cpu, 0, iova, size, 0, 0, 0, 0, 6, 0x0100          \
    }
#define W_MAP(t, cpu, iova, size, pa)                                          \
    {                                                                          \
        IOSIM_REC_MAP, t, cpu, 0, iova, size, pa, 0, 0,                        \
            IOSIM_PROT_READ | IOSIM_PROT_WRITE, 6, 0x0100                      \
    }
/* qw0 0x600f2: type 2, G (5:4) = 3 page-selective, DID (31:16) = 6 */
// clang-format off
#define W_PSI(t, cpu, addr, am, ih)                                         \
    {IOSIM_REC_INVAL, t, cpu, IOSIM_DESC_IOTLB, addr, 0, 0x600f2, am,       \
     IOSIM_GRAN_PAGE, ih, 6, 0}
// clang-format on
/* qw0 0x10000000003: type 3, SID (47:32) = 0x0100 = 01:00.0 */
// clang-format off
#define W_DEVTLB(t, cpu, addr, am)                                          \
    {IOSIM_REC_INVAL, t, cpu, IOSIM_DESC_DEVTLB, addr, 0, 0x10000000003,    \
     am, IOSIM_GRAN_PAGE, 0, 0, 0x0100}
// clang-format on

/* Linux 6.1 (ftrace-redis-strict.txt lines 13-23): an unmap is a PSI
 * with the address as is (qw1 0xffff9000: IH, bit 6, clear) + a devTLB
 * descriptor; a map under caching mode a PSI. */
static void test_kernel_61_records(void **state)
{
    (void)state;
    static const want_t w[] = {
        W_UNMAP(6833234000, 1, 0xffff9000, 4096),
        W_PSI(6833798000, 1, 0xffff9000, 0, 0), /* 0x600f2 0xffff9000 */
        W_DEVTLB(6833908000, 1, 0xffff9000, 0), /* S (bit 0) = 0      */
        W_MAP(6836023000, 1, 0xffff9000, 4096, 0x1b1f000),
        W_PSI(6836058000, 1, 0xffff9000, 0, 0),
        W_UNMAP(6836707000, 0, 0xffff9000, 4096),
        W_PSI(6836730000, 0, 0xffff9000, 0, 0),
        W_DEVTLB(6836745000, 0, 0xffff9000, 0),
        W_UNMAP(6837269000, 1, 0xffff6000, 8192),
        W_PSI(6837281000, 1, 0xffff6000, 1, 0), /* 0xffff6001: AM 1   */
        /* 0xffff6001: S = 1, lowest zero bit >= 12 is bit 12 => 8 KiB */
        W_DEVTLB(6837369000, 1, 0xffff6000, 1),
    };
    check_first_records(DATA "ftrace-redis-strict.txt", w,
                        sizeof w / sizeof w[0]);
}

/* Linux 6.12 (ftrace-redis-strict-612.txt lines 13-28): the same
 * sequence, but the unmap's PSI carries IH in its address qword
 * (0xffff9040: bit 6, VT-d spec §6.5.2.3): the record's address is
 * 0xffff9000 and its flags IH; the map's PSI has none.  The
 * dma_unmap_page / dma_map_page lines (15 ... 27) give no record. */
static void test_kernel_612_records(void **state)
{
    (void)state;
    static const want_t w[] = {
        W_UNMAP(9275107000, 1, 0xffff9000, 4096),
        W_PSI(9276314000, 1, 0xffff9000, 0, IOSIM_INVAL_IH), /* ..9040 */
        W_DEVTLB(9276390000, 1, 0xffff9000, 0),
        /* 9.276464 dma_unmap_page: skipped */
        W_MAP(9278777000, 1, 0xffff9000, 4096, 0x59f6c000),
        W_PSI(9278801000, 1, 0xffff9000, 0, 0), /* ..9000 */
        /* 9.278821 dma_map_page: skipped */
        W_UNMAP(9279344000, 0, 0xffff9000, 4096),
        W_PSI(9279362000, 0, 0xffff9000, 0, IOSIM_INVAL_IH),
        W_DEVTLB(9279365000, 0, 0xffff9000, 0),
        W_UNMAP(9279641000, 1, 0xffff6000, 8192),
        /* 0xffff6041: AM 1, IH 1, address 0xffff6000 */
        W_PSI(9279680000, 1, 0xffff6000, 1, IOSIM_INVAL_IH),
        W_DEVTLB(9279692000, 1, 0xffff6000, 1), /* ..6001 */
        W_MAP(9290946000, 1, 0xffffa000, 4096, 0x59f6f000),
        W_PSI(9290963000, 1, 0xffffa000, 0, 0),
        W_UNMAP(9291633000, 1, 0xffffa000, 4096),
        W_PSI(9291642000, 1, 0xffffa000, 0, IOSIM_INVAL_IH),
        W_DEVTLB(9291643000, 1, 0xffffa000, 0),
    };
    check_first_records(DATA "ftrace-redis-strict-612.txt", w,
                        sizeof w / sizeof w[0]);
}

/* IH across a whole excerpt: the IOTLB descriptors whose qw1 has bit 6
 * set (second hex digit 4-7 or c-f), counted with
 *   grep -cE 'qi_submit: iotlb_inv dmar0: 0x[0-9a-f]+
 * 0x[0-9a-f]*[4-7c-f][0-9a-f] '
 * => 60 in the 6.12 strict excerpt, 0 in the 6.1 ones and both lazy
 * ones (their DSIs have address 0). */
static void check_ih_count(const char *path, size_t want)
{
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    size_t ih = 0;
    for (size_t i = 0; i < got.n; i++) {
        const iosim_rec_t *r = &got.r[i];
        if (r->kind != IOSIM_REC_INVAL || r->desc != IOSIM_DESC_IOTLB)
            continue;
        ih += (r->flags & IOSIM_INVAL_IH) != 0;
        assert_int_equal(r->iova & 0xfff, 0); /* IH never in the address */
    }
    assert_int_equal(ih, want);
    free(got.r);
}

static void test_ih_by_kernel(void **state)
{
    (void)state;
    check_ih_count(DATA "ftrace-redis-strict.txt", 0);
    check_ih_count(DATA "ftrace-redis-lazy.txt", 0);
    check_ih_count(DATA "ftrace-redis-strict-612.txt", 60);
    check_ih_count(DATA "ftrace-redis-lazy-612.txt", 0);
}

/* Linux 6.12 lazy (ftrace-redis-lazy-612.txt lines 19-20): a flush-queue
 * flush is a DSI (qw0 0x600e2: G = 2, DID 6, address 0) and a
 * whole-device devTLB (qw1 0x7ffffffffffff001: S = 1, bits 62:12 all
 * ones => mask 52), as in 6.1. */
static void test_kernel_612_lazy_flush(void **state)
{
    (void)state;
    const char *path = DATA "ftrace-redis-lazy-612.txt";
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    size_t i = 0;
    while (i < got.n && got.r[i].kind != IOSIM_REC_INVAL)
        i++;
    assert_true(i + 1 < got.n);
    const iosim_rec_t *d = &got.r[i], *v = &got.r[i + 1];
    assert_int_equal(d->t, UINT64_C(10941185000));
    assert_int_equal(d->desc, IOSIM_DESC_IOTLB);
    assert_int_equal(d->gran, IOSIM_GRAN_DOMAIN);
    assert_int_equal(d->domain, 6);
    assert_int_equal(d->iova, 0);
    assert_int_equal(d->flags, 0);
    assert_int_equal(v->t, UINT64_C(10941230000));
    assert_int_equal(v->desc, IOSIM_DESC_DEVTLB);
    assert_int_equal(v->gran, IOSIM_GRAN_GLOBAL);
    assert_int_equal(v->am, 52);
    assert_int_equal(v->device, 0x0100);
    /* the records before it: lines 13-18, map / unmap / unmap (the
     * dma_* lines between them skipped) */
    assert_int_equal(i, 3);
    assert_int_equal(got.r[0].kind, IOSIM_REC_MAP);
    assert_int_equal(got.r[0].iova, 0xffeaa000);
    assert_int_equal(got.r[2].kind, IOSIM_REC_UNMAP);
    assert_int_equal(got.r[2].iova, 0xffff9000);
    free(got.r);
}

/* --window keeps BENCH_START..BENCH_END, both marks included. */
static void test_window(void **state)
{
    (void)state;
    const char *path = DATA "ftrace-redis-strict.txt";
    import_opts_t o = default_opts();
    o.window = true;
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    const char *a = "BENCH_START", *b = "BENCH_END";
    assert_int_equal(count_kind(&got, IOSIM_REC_MAP),
                     grep_c(path, " map: ", a, b));
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP),
                     grep_c(path, " unmap: ", a, b));
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL),
                     grep_c(path, "qi_submit: ", a, b));
    assert_int_equal(count_kind(&got, IOSIM_REC_MARK), 2);
    assert_int_equal(got.r[0].kind, IOSIM_REC_MARK);
    assert_int_equal(got.r[0].flags, IOSIM_MARK_BEGIN);
    assert_int_equal(got.r[got.n - 1].flags, IOSIM_MARK_END);
    free(got.r);
}

/* The tie rule (import_ftrace.c, ftrace_parser_next): a hand-made
 * two-CPU trace whose equal-timestamp groups the file lists CPU by CPU.
 * Group A is the failed capture's (captures-raw/failed-replay-redis-
 * strict-fs-pcap-qemu-trace-1, trace.txt lines 58-65): 0xfffee000 was
 * unmapped at .272329, so CPU 0's unmap at .272951 can only undo CPU 1's
 * map of the same time stamp, which therefore goes first (and CPU 1's
 * next record stays behind its map).  Group B: CPU 0 maps 0xa000 while
 * it is live, CPU 1 unmaps it: the unmap goes first.  Group C: already
 * consistent in file order, kept.  Expected order by the rule, as input
 * line numbers (header lines 1-2), and checked again by brute force: no
 * MAP of a live page, no UNMAP of a freed one. */
static void test_tie_rule(void **state)
{
    (void)state;
    const char *text =
        "# tracer: nop\n"
        "# entries-in-buffer/entries-written: 13/13   #P:2\n"
        /* 3 */ " <idle>-0 [001] ..s1. 12.272329: unmap: IOMMU: "
        "iova=0x00000000fffee000 - 0x00000000fffef000 size=4096 "
        "unmapped_size=4096\n"
        /* 4 */ " <idle>-0 [000] .Ns2. 12.272951: unmap: IOMMU: "
        "iova=0x00000000fffee000 - 0x00000000fffef000 size=4096 "
        "unmapped_size=4096\n"
        /* 5 */ " <idle>-0 [000] dNs3. 12.272951: qi_submit: p_iotlb_inv "
        "dmar0: 0x60036 0xfffee040 0x0 0x0\n"
        /* 6 */ " <idle>-0 [001] b.s3. 12.272951: map: IOMMU: "
        "iova=0x00000000fffee000 - 0x00000000fffef000 "
        "paddr=0x00000000027b4000 size=4096\n"
        /* 7 */ " <idle>-0 [001] b.s3. 12.272951: map: IOMMU: "
        "iova=0x00000000fffe0000 - 0x00000000fffe1000 "
        "paddr=0x0000000001000000 size=4096\n"
        /* 8 */ " redis-110 [000] b..1. 12.312653: map: IOMMU: "
        "iova=0x00000000fffee000 - 0x00000000fffef000 "
        "paddr=0x00000000029b6000 size=4096\n"
        /* 9 */ " <idle>-0 [001] ..s1. 12.400000: map: IOMMU: "
        "iova=0x000000000000a000 - 0x000000000000b000 "
        "paddr=0x0000000002000000 size=4096\n"
        /* 10 */ " <idle>-0 [000] ..s1. 12.500000: map: IOMMU: "
        "iova=0x000000000000a000 - 0x000000000000b000 "
        "paddr=0x0000000003000000 size=4096\n"
        /* 11 */ " <idle>-0 [001] ..s1. 12.500000: unmap: IOMMU: "
        "iova=0x000000000000a000 - 0x000000000000b000 size=4096 "
        "unmapped_size=4096\n"
        /* 12 */ " <idle>-0 [000] ..s1. 12.600000: unmap: IOMMU: "
        "iova=0x000000000000a000 - 0x000000000000b000 size=4096 "
        "unmapped_size=4096\n"
        /* 13 */ " <idle>-0 [001] ..s1. 12.600000: map: IOMMU: "
        "iova=0x000000000000a000 - 0x000000000000b000 "
        "paddr=0x0000000004000000 size=4096\n";
    /* (t in ms past 12 s, cpu, kind, iova) in the rule's order: lines
     * 3, 6, 4, 5, 7, 8, 9, 11, 10, 12, 13 */
    static const struct {
        uint64_t ms;
        uint8_t cpu;
        iosim_rec_kind_t kind;
        uint64_t iova;
    } want[] = {
        {272329, 1, IOSIM_REC_UNMAP, 0xfffee000},
        {272951, 1, IOSIM_REC_MAP, 0xfffee000},
        {272951, 0, IOSIM_REC_UNMAP, 0xfffee000},
        {272951, 0, IOSIM_REC_INVAL, 0xfffee000},
        {272951, 1, IOSIM_REC_MAP, 0xfffe0000},
        {312653, 0, IOSIM_REC_MAP, 0xfffee000},
        {400000, 1, IOSIM_REC_MAP, 0xa000},
        {500000, 1, IOSIM_REC_UNMAP, 0xa000},
        {500000, 0, IOSIM_REC_MAP, 0xa000},
        {600000, 0, IOSIM_REC_UNMAP, 0xa000},
        {600000, 1, IOSIM_REC_MAP, 0xa000},
    };
    char path[] = "/tmp/test_import_tie_XXXXXX";
    temp_file(path, text);
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    int rc = run_import("ftrace", path, &o, &got, &c, &err);
    unlink(path);
    if (rc != 0)
        fail_msg("import: %s", err.msg);
    assert_int_equal(got.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < got.n; i++) {
        assert_int_equal(got.r[i].t, 12000000000u + want[i].ms * 1000u);
        assert_int_equal(got.r[i].cpu, want[i].cpu);
        assert_int_equal(got.r[i].kind, want[i].kind);
        assert_int_equal(got.r[i].iova, want[i].iova);
    }
    /* records moved: line 6 before 4 (A), line 11 before 10 (B) */
    assert_int_equal(c.tie_reordered, 2);
    /* brute force: every page's MAP/UNMAP alternate, starting from
     * either (a page first seen unmapped was mapped before the trace) */
    uint64_t pages[4] = {0}, state_of[4] = {0}; /* 0 unseen, 1 live, 2 free */
    size_t np = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (got.r[i].kind != IOSIM_REC_MAP && got.r[i].kind != IOSIM_REC_UNMAP)
            continue;
        size_t k = 0;
        while (k < np && pages[k] != got.r[i].iova)
            k++;
        if (k == np)
            pages[np++] = got.r[i].iova;
        uint64_t now = got.r[i].kind == IOSIM_REC_MAP ? 1 : 2;
        assert_int_not_equal(state_of[k], now);
        state_of[k] = now;
    }
    free(got.r);
}

/* The same excerpt compressed with zstd gives the same records. */
static void test_zstd_input(void **state)
{
    (void)state;
    const char *path = DATA "ftrace-redis-lazy.txt";
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    size_t cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, text, n, 3);
    assert_false(ZSTD_isError(zn));
    char zpath[] = "/tmp/test_import_XXXXXX";
    int fd = mkstemp(zpath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, z, zn), (ssize_t)zn);
    close(fd);
    import_opts_t o = default_opts();
    import_counts_t c1 = {0}, c2 = {0};
    recs_t a = {0}, b = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &a, &c1, &err), 0);
    assert_int_equal(run_import("ftrace", zpath, &o, &b, &c2, &err), 0);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.r, b.r, a.n * sizeof *a.r);
    /* cut the compressed file: a truncated stream is an error */
    assert_int_equal(truncate(zpath, (off_t)(zn / 2)), 0);
    recs_t t = {0};
    import_counts_t c3 = {0};
    assert_int_equal(run_import("ftrace", zpath, &o, &t, &c3, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    unlink(zpath);
    free(z);
    free(a.r);
    free(b.r);
    free(t.r);
}

/* An input with no event the source reads is bad input: the message
 * names the input and the source (import_run tells the sink both; the
 * options carry neither).  Two comment lines: "2 lines". */
static void test_nothing_to_import(void **state)
{
    (void)state;
    char path[] = "/tmp/test_import_none_XXXXXX";
    temp_file(path, "# tracer: nop\n# nothing else\n");
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), -1);
    char want[256];
    snprintf(want, sizeof want,
             "%s: 2 lines, none an event the ftrace import reads: not such a "
             "capture",
             path);
    assert_string_equal(err.msg, want);
    unlink(path);
    free(got.r);
}

static void test_malformed_line(void **state)
{
    (void)state;
    char path[] = "/tmp/test_import_bad_XXXXXX";
    temp_file(path,
              "# tracer: nop\n"
              " a-1 [000] ..... 1.000000: map: IOMMU: iova=0x0000000000001000"
              " - 0x0000000000002000 paddr=0x0000000000005000 size=4096\n"
              " a-1 [000] ..... 1.000001: map: IOMMU: iova=0xzz\n");
    import_opts_t o = default_opts();
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:3: map:", path);
    assert_non_null(strstr(err.msg, want));
    /* an overrun header is reported, unknown events are counted */
    static const char overrun[] =
        "# entries-in-buffer/entries-written: 10/12   #P:4\n"
        " a-1 [002] ..... 1.000000: cache_tag_assign: dmar0/x\n";
    write_file(path, overrun, strlen(overrun));
    memset(&c, 0, sizeof c);
    assert_int_equal(run_import("ftrace", path, &o, &got, &c, &err), 0);
    assert_true(c.overrun);
    assert_int_equal(c.unknown_events, 1);
    unlink(path);
    free(got.r);
}

/* ---------------------------------------------------------------- */
/* QEMU merge                                                       */
/* ---------------------------------------------------------------- */
static void test_qemu_excerpt(void **state)
{
    (void)state;
    const char *guest = DATA "ftrace-redis-strict-qemu-guest.txt";
    import_opts_t o = default_opts();
    o.guest_path = guest;
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(
        run_import("qemu", DATA "qemu-redis-strict.log", &o, &got, &c, &err),
        0);
    /* guest maps plus one explicit MAP per pre-capture mapping the device
     * used (checked below: each DMA then targets a mapped page, or a page
     * the guest unmapped earlier — a stale translation) */
    assert_int_equal(count_kind(&got, IOSIM_REC_MAP),
                     grep_c(guest, " map: ", NULL, NULL) + c.qemu_premapped);
    {
        enum { NP = 4096 };
        static uint64_t live[NP], ever[NP];
        size_t nl = 0, ne = 0;
        for (size_t i = 0; i < got.n; i++) {
            const iosim_rec_t *r = &got.r[i];
            uint64_t pg = r->iova >> 12;
            if (r->kind == IOSIM_REC_MAP) {
                for (uint64_t k = 0; k < r->size >> 12; k++) {
                    assert_true(nl < NP && ne < NP);
                    live[nl++] = pg + k;
                    ever[ne++] = pg + k;
                }
            } else if (r->kind == IOSIM_REC_UNMAP) {
                for (uint64_t k = 0; k < r->size >> 12; k++)
                    for (size_t j = 0; j < nl; j++)
                        if (live[j] == pg + k) {
                            live[j] = live[--nl];
                            break;
                        }
            } else if (r->kind == IOSIM_REC_DMA) {
                bool ok = false;
                for (size_t j = 0; j < nl && !ok; j++)
                    ok = live[j] == pg;
                for (size_t j = 0; j < ne && !ok; j++)
                    ok = ever[j] == pg;
                assert_true(ok);
            }
        }
    }
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP),
                     grep_c(guest, " unmap: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL),
                     grep_c(guest, "qi_submit: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_MARK),
                     grep_c(guest, "tracing_mark_write: ", NULL, NULL));
    /* Line 37 is the QEMU copy of the guest's first qi_submit (0x600f2
     * 0xffff9000), line 459 the first descriptor after its last one:
     *   sed -n '37,459p' tests/data/qemu-redis-strict.log \
     *     | grep -c vtd_dmar_translate                     => 137 */
    assert_int_equal(count_kind(&got, IOSIM_REC_DMA), 137);
    /* QEMU's own IOTLB outcome of those 137 (each translation's
     * vtd_iotlb_page_hit or _update line comes just before it):
     *   sed -n '37,459p' ... | grep -c vtd_iotlb_page_hit     => 122
     *   sed -n '37,459p' ... | grep -c vtd_iotlb_page_update  => 15 */
    assert_int_equal(c.qemu_iotlb_hits, 122);
    assert_int_equal(c.qemu_iotlb_misses, 15);
    /* trapped tail writes before the guest's descriptors (line 36 is the
     * first anchor's, 458 belongs to the descriptor after the last):
     *   sed -n '36,457p' ... | grep -c vtd_inv_qi_tail  => 29
     * one per guest qi_submit line: Linux 6.1 does not batch */
    assert_int_equal(c.qemu_tail_writes, 29);
    assert_int_equal(c.qemu_tail_writes,
                     grep_c(guest, "qi_submit: ", NULL, NULL));
    assert_int_equal(c.qemu_anchors, grep_c(guest, "qi_submit: ", NULL, NULL));
    for (size_t i = 0; i < got.n; i++) {
        if (i > 0)
            assert_true(got.r[i].t >= got.r[i - 1].t);
        if (got.r[i].kind == IOSIM_REC_DMA) {
            assert_int_equal(got.r[i].device, 0x0100); /* dev 01:00.00 */
            assert_int_equal(got.r[i].size, 4096);     /* mask 0xfff   */
            assert_int_equal(got.r[i].domain, 6);
        }
    }
    free(got.r);
}

/* Sync with local reordering (import_qemu.c rule 1): the guest traced
 * descriptors A..F of two CPUs as A B C D E F, QEMU processed them as
 * A B E C D F (E three places early: not a swap of neighbours, which is
 * all the sync allowed before; the e1000e capture has such a case).  The
 * import must sync at the first descriptor and anchor all six. */
static void test_qemu_sync_local_reorder(void **state)
{
    (void)state;
    static const char *const addr[6] = {"0xffff1000", "0xffff2000",
                                        "0xffff3000", "0xffff4000",
                                        "0xffff5000", "0xffff6000"};
    char g[2048] = "# entries-in-buffer/entries-written: 6/6   #P:2\n";
    for (int i = 0; i < 6; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 " a-1 [00%d] ..... 1.00000%d: qi_submit: iotlb_inv dmar0: "
                 "0x200f2 %s 0x0 0x0\n",
                 i % 2, i, addr[i]);
        strcat(g, line);
    }
    static const int qorder[6] = {0, 1, 4, 2, 3, 5};
    char q[2048] = "";
    for (int i = 0; i < 6; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "vtd_inv_desc invalidate desc type iotlb high %s low "
                 "0x200f2\n",
                 addr[qorder[i]]);
        strcat(q, line);
    }
    import_counts_t c = {0};
    recs_t got = {0};
    import_pair(g, q, &got, &c);
    assert_int_equal(c.qemu_anchors, 6);
    assert_int_equal(c.qemu_reordered, 1); /* E, matched 3rd of pending */
    assert_int_equal(c.qemu_desc_skipped, 0);
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL), 6);
    free(got.r);
}

/* Guest descriptors a QEMU descriptor may overtake: the import's reorder
 * window (import_qemu.c: a driver's ring clean in one interrupt, e1000e's
 * 256 TX descriptors, E1000_DEFAULT_TXD). */
#define REORDER_WINDOW 256u

/* A tie at the very start of the guest trace: CPU 0's descriptors
 * B1..Bn and CPU 1's X carry one time stamp, the guest lists B1..Bn X,
 * QEMU processed X first; then C1..C4 in the same order on both sides.
 * Returns the import's rc (err filled on failure). */
static int import_tie_at_start(unsigned n, recs_t *got, import_counts_t *c,
                               iosim_err_t *err)
{
    size_t cap = (n + 8) * 128;
    char *g = malloc(cap), *q = malloc(cap);
    assert_non_null(g);
    assert_non_null(q);
    size_t gl = (size_t)snprintf(g, cap,
                                 "# entries-in-buffer/entries-"
                                 "written: %u/%u   #P:2\n",
                                 n + 5, n + 5);
    size_t ql = 0;
    /* QEMU order: X, B1..Bn, C1..C4; guest order: B1..Bn, X, C1..C4 */
    uint64_t x = 0x20000000;
    ql += (size_t)snprintf(q + ql, cap - ql,
                           "vtd_inv_desc invalidate desc "
                           "type iotlb high 0x%llx low 0x200f2\n",
                           (unsigned long long)x);
    for (unsigned i = 0; i < n + 5; i++) {
        uint64_t a;
        int cpu = 0;
        const char *t = "1.000001";
        if (i < n) {
            a = 0x10000000 + (uint64_t)i * 0x1000;
        } else if (i == n) {
            a = x;
            cpu = 1;
        } else {
            a = 0x30000000 + (uint64_t)(i - n) * 0x1000;
            t = "1.000002";
        }
        gl += (size_t)snprintf(g + gl, cap - gl,
                               " a-1 [00%d] ..... %s: "
                               "qi_submit: iotlb_inv dmar0: 0x200f2 0x%llx "
                               "0x0 0x0\n",
                               cpu, t, (unsigned long long)a);
        if (i != n)
            ql += (size_t)snprintf(q + ql, cap - ql,
                                   "vtd_inv_desc "
                                   "invalidate desc type iotlb high 0x%llx "
                                   "low 0x200f2\n",
                                   (unsigned long long)a);
    }
    assert_true(gl < cap && ql < cap);
    char gpath[] = "/tmp/test_import_g_XXXXXX";
    char qpath[] = "/tmp/test_import_q_XXXXXX";
    temp_file(gpath, g);
    temp_file(qpath, q);
    free(g);
    free(q);
    import_opts_t o = default_opts();
    o.guest_path = gpath;
    int rc = run_import("qemu", qpath, &o, got, c, err);
    unlink(gpath);
    unlink(qpath);
    return rc;
}

/* The start of the trace is found under the same reorder bound as the
 * rest of the merge: X may overtake up to REORDER_WINDOW - 1 pending
 * descriptors at the start as anywhere else; one more is refused with
 * the usual one-line error. */
static void test_qemu_sync_reorder_window(void **state)
{
    (void)state;
    static const unsigned ok[] = {17, REORDER_WINDOW - 1};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        import_counts_t c = {0};
        recs_t got = {0};
        iosim_err_t err = {0};
        int rc = import_tie_at_start(ok[i], &got, &c, &err);
        if (rc != 0)
            fail_msg("%u overtaken: %s", ok[i], err.msg);
        /* every descriptor anchored; only X's match is re-ordered (the
         * B's then match the first pending one, in order) */
        assert_int_equal(c.qemu_anchors, ok[i] + 5);
        assert_int_equal(c.qemu_reordered, 1);
        assert_int_equal(count_kind(&got, IOSIM_REC_INVAL), ok[i] + 5);
        free(got.r);
    }
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(import_tie_at_start(REORDER_WINDOW, &got, &c, &err), -1);
    assert_non_null(strstr(err.msg, "do not occur in this QEMU log"));
    assert_null(strchr(err.msg, '\n'));
    free(got.r);
}

/* A real capture with tied descriptors of two CPUs: scripts/capture/
 * run memcached strict --qemu-trace --nic e1000e --requests 300 --kernel
 * 6.1.0-57-amd64, 2 vCPUs.  tests/data/ftrace-mc-e1000e-guest-cut.txt is
 * its trace.txt's header (lines 1..12) and lines 6890..7090,
 * qemu-mc-e1000e-cut.log.zst lines 59250..60850 of its qemu-trace.log.
 * QEMU processed 0xfff46000 twice in a row (cut lines 1205 and 1214:
 *   zstdcat qemu-mc-e1000e-cut.log.zst | grep -n 'high 0xfff46000'),
 * the guest lists the second one (line 188) after 17 qi_submit of CPU 0
 * (lines 155..187), all at its time stamp 9.749921: CPU 0's clock lagged
 * and trace_clock=global gave its events CPU 1's last time, and the trace
 * file breaks that tie by CPU.  Every other descriptor of the cut is in
 * QEMU's order, so exactly 1 match is re-ordered.  The tie spans 18
 * descriptors, so a matcher that looks only a few descriptors ahead
 * would stop at line 1214 ("alignment lost"); this cut checks that the
 * look-ahead covers a whole same-timestamp run. */
static void test_qemu_e1000e_tie_cut(void **state)
{
    (void)state;
    const char *guest = DATA "ftrace-mc-e1000e-guest-cut.txt";
    import_opts_t o = default_opts();
    o.guest_path = guest;
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    int rc = run_import("qemu", DATA "qemu-mc-e1000e-cut.log.zst", &o, &got, &c,
                        &err);
    if (rc != 0)
        fail_msg("import: %s", err.msg);
    size_t qi = grep_c(guest, "qi_submit: ", NULL, NULL); /* 100 */
    assert_int_equal(qi, 100);
    assert_int_equal(c.qemu_anchors, qi);
    assert_int_equal(c.qemu_reordered, 1);
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL), qi);
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP),
                     grep_c(guest, " unmap: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_MAP),
                     grep_c(guest, " map: ", NULL, NULL) + c.qemu_premapped);
    /* line 52 is QEMU's copy of the guest's first qi_submit (0xffe1b000),
     * line 1579 of its last (the second 0xfff48000):
     *   zstdcat ... | sed -n 1,51p | grep 'vtd_inv_desc invalidate' \
     *     | grep -vc 'type wait'                               => 4
     *   zstdcat ... | sed -n 52,1579p | grep -c vtd_dmar_translate  => 194
     *   ... | grep -c vtd_iotlb_page_hit => 146, _update => 48
     *   zstdcat ... | sed -n 49,1578p | grep -c vtd_inv_qi_tail   => 100
     * (no translation between line 1579 and the next descriptor) */
    assert_int_equal(c.qemu_desc_skipped, 4);
    assert_int_equal(count_kind(&got, IOSIM_REC_DMA), 194);
    assert_int_equal(c.qemu_iotlb_hits, 146);
    assert_int_equal(c.qemu_iotlb_misses, 48);
    assert_int_equal(c.qemu_tail_writes, 100);
    /* the output's descriptors in QEMU's order: 0xfff46000 twice in a
     * row, then CPU 0's 17 (from 0xffe11000) */
    size_t k = 0, inv[100];
    for (size_t i = 0; i < got.n; i++) {
        if (i > 0)
            assert_true(got.r[i].t >= got.r[i - 1].t);
        if (got.r[i].kind == IOSIM_REC_INVAL)
            inv[k++] = i;
    }
    size_t f = 0;
    while (f < k && got.r[inv[f]].iova != 0xfff46000)
        f++;
    assert_true(f + 2 < k);
    assert_int_equal(got.r[inv[f + 1]].iova, 0xfff46000);
    assert_int_equal(got.r[inv[f + 2]].iova, 0xffe11000);
    free(got.r);
}

/* A real misalignment names both positions: the QEMU line and the guest
 * line of the first descriptor still waiting.  The guest traced 70
 * descriptors, QEMU has the first 66, then one the guest never traced
 * (at QEMU line 67), then the guest's last 4 (the first of them on guest
 * line 68: one header line before the descriptors). */
static void test_qemu_misalignment_names_both(void **state)
{
    (void)state;
    enum { N = 70, BAD = 66 };
    static char g[N * 128 + 128], q[(N + 1) * 128];
    strcpy(g, "# entries-in-buffer/entries-written: 70/70   #P:2\n");
    q[0] = '\0';
    for (int i = 0; i < N; i++) {
        char line[160];
        snprintf(line, sizeof line,
                 " a-1 [001] ..... 1.%06d: qi_submit: iotlb_inv dmar0: "
                 "0x200f2 0x%x 0x0 0x0\n",
                 i, 0x100000 + i * 0x1000);
        strcat(g, line);
        if (i == BAD)
            strcat(q, "vtd_inv_desc invalidate desc type iotlb high "
                      "0xdead000 low 0x200f2\n");
        snprintf(line, sizeof line,
                 "vtd_inv_desc invalidate desc type iotlb high 0x%x low "
                 "0x200f2\n",
                 0x100000 + i * 0x1000);
        strcat(q, line);
    }
    char gpath[] = "/tmp/test_import_g_XXXXXX";
    char qpath[] = "/tmp/test_import_q_XXXXXX";
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(import_pair_rc(g, q, &got, &c, &err, gpath, qpath), -1);
    char want[128];
    snprintf(want, sizeof want,
             "%s:67: descriptor qw0=0x200f2 "
             "addr=0xdead000 ",
             qpath);
    if (!strstr(err.msg, want))
        fail_msg("no QEMU position '%s' in: %s", want, err.msg);
    snprintf(want, sizeof want, "from %s:68 (qw0=0x200f2 addr=0x142000)",
             gpath);
    if (!strstr(err.msg, want))
        fail_msg("no guest position '%s' in: %s", want, err.msg);
    assert_non_null(strstr(err.msg, "next 4 qi_submit"));
    free(got.r);
}

/* An UNMAP far larger than what was mapped (2^52 bytes: 2^40 pages, the
 * whole 64-bit page space a page at a time would take hours) takes the
 * page it covers out of the merge's mappings at once: QEMU's DMA to it
 * before the unmap matches the guest's map, the one after finds it
 * unmapped (and known to the guest: no explicit MAP is made). */
static void test_qemu_huge_unmap(void **state)
{
    (void)state;
    static const char guest[] =
        "# entries-in-buffer/entries-written: 4/4   #P:2\n"
        " a-1 [000] ..... 1.000000: map: IOMMU: iova=0x00000000ffff0000"
        " - 0x00000000ffff1000 paddr=0x0000000000100000 size=4096\n"
        " a-1 [000] ..... 1.000001: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff0000 0x0 0x0\n"
        " a-1 [000] ..... 1.000002: unmap: IOMMU: iova=0x00000000ffff0000"
        " - 0x00100000ffff0000 size=4503599627370496"
        " unmapped_size=4503599627370496\n"
        " a-1 [000] ..... 1.000003: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff0000 0x0 0x0\n";
    static const char qemu[] =
        "vtd_inv_desc invalidate desc type iotlb high 0xffff0000 low 0x200f2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xffff0000 -> gpa 0x100000 mask "
        "0xfff\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xffff0000 low 0x200f2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xffff0000 -> gpa 0x100000 mask "
        "0xfff\n";
    import_counts_t c = {0};
    recs_t got = {0};
    import_pair(guest, qemu, &got, &c);
    assert_int_equal(c.qemu_anchors, 2);
    assert_int_equal(c.qemu_dma_matched, 1);
    assert_int_equal(c.qemu_dma_unmapped, 1);
    assert_int_equal(c.qemu_premapped, 0);
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP), 1);
    for (size_t i = 0; i < got.n; i++)
        if (got.r[i].kind == IOSIM_REC_UNMAP)
            assert_true(got.r[i].size == UINT64_C(1) << 52);
    free(got.r);
}

/* The merge tracks a guest map page by page: up to 1 GB (VT-d's largest
 * page) it does, and a DMA to the map's last page matches it; one page
 * more is refused with the guest file and line of the map. */
static void test_qemu_map_size_limit(void **state)
{
    (void)state;
    static const char qemu[] =
        "vtd_inv_desc invalidate desc type iotlb high 0x40000000 low 0x200f2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0x7ffff000 -> gpa 0xbffff000 "
        "mask 0xfff\n";
    for (int over = 0; over <= 1; over++) {
        char guest[512];
        unsigned long long size = (1ull << 30) + (over ? 4096 : 0);
        snprintf(guest, sizeof guest,
                 "# entries-in-buffer/entries-written: 2/2   #P:2\n"
                 " a-1 [000] ..... 1.000000: map: IOMMU: "
                 "iova=0x0000000040000000 - 0x%016llx "
                 "paddr=0x0000000080000000 size=%llu\n"
                 " a-1 [000] ..... 1.000001: qi_submit: iotlb_inv dmar0: "
                 "0x200f2 0x40000000 0x0 0x0\n",
                 0x40000000ull + size, size);
        import_counts_t c = {0};
        recs_t got = {0};
        if (!over) {
            import_pair(guest, qemu, &got, &c);
            assert_int_equal(c.qemu_dma_matched, 1);
            assert_int_equal(c.qemu_dma_unmapped, 0);
            free(got.r);
            continue;
        }
        char gpath[] = "/tmp/test_import_g_XXXXXX";
        char qpath[] = "/tmp/test_import_q_XXXXXX";
        iosim_err_t err = {0};
        assert_int_equal(
            import_pair_rc(guest, qemu, &got, &c, &err, gpath, qpath), -1);
        char want[128];
        snprintf(want, sizeof want, "%s:2: map of %llu bytes", gpath, size);
        if (!strstr(err.msg, want))
            fail_msg("no '%s' in: %s", want, err.msg);
        assert_null(strchr(err.msg, '\n'));
        free(got.r);
    }
}

/* Linux 6.12 batches the descriptors of one flush into one
 * qi_submit_sync (drivers/iommu/intel/cache.c, qi_batch): an unmap's
 * PSI (IH set: 0xffff1040) and devTLB descriptor reach QEMU after ONE
 * queue-tail write, followed by one wait descriptor; 6.1 wrote the tail
 * once per descriptor.  The guest traces one qi_submit per descriptor
 * either way.  Both forms must anchor every descriptor, and the trapped
 * tail writes (ref.iq.submits) count submissions: 2 for the batched log
 * (unmap batch, map PSI), 3 for the per-descriptor one. */
static void test_qemu_batched_submission(void **state)
{
    (void)state;
    const char *g =
        "# entries-in-buffer/entries-written: 5/5   #P:2\n"
        " a-1 [000] ..... 1.000001: unmap: IOMMU: iova=0x00000000ffff1000"
        " - 0x00000000ffff2000 size=4096 unmapped_size=4096\n"
        " a-1 [000] ..... 1.000002: qi_submit: iotlb_inv dmar0: 0x600f2"
        " 0xffff1040 0x0 0x0\n"
        " a-1 [000] ..... 1.000003: qi_submit: dev_tlb_inv dmar0:"
        " 0x10000000003 0xffff1000 0x0 0x0\n"
        " a-1 [000] ..... 1.000004: map: IOMMU: iova=0x00000000ffff2000"
        " - 0x00000000ffff3000 paddr=0x0000000000042000 size=4096\n"
        " a-1 [000] ..... 1.000005: qi_submit: iotlb_inv dmar0: 0x600f2"
        " 0xffff2000 0x0 0x0\n";
    const char *wait = "vtd_inv_desc invalidate desc type wait high "
                       "0x1052224 low 0x200000025\n";
    const char *psi1 = "vtd_inv_desc invalidate desc type iotlb high "
                       "0xffff1040 low 0x600f2\n";
    const char *dev1 = "vtd_inv_desc invalidate desc type device high "
                       "0xffff1000 low 0x10000000003\n";
    const char *psi2 = "vtd_inv_desc invalidate desc type iotlb high "
                       "0xffff2000 low 0x600f2\n";
    const char *tail = "vtd_inv_qi_tail write tail 2\n";
    char q[2048];
    /* 6.12: tail, PSI, devTLB, wait | tail, PSI, wait */
    snprintf(q, sizeof q, "%s%s%s%s%s%s%s", tail, psi1, dev1, wait, tail, psi2,
             wait);
    import_counts_t c = {0};
    recs_t got = {0};
    import_pair(g, q, &got, &c);
    assert_int_equal(c.qemu_anchors, 3);
    assert_int_equal(c.qemu_tail_writes, 2);
    assert_int_equal(count_kind(&got, IOSIM_REC_INVAL), 3);
    assert_int_equal(got.n, 5); /* UNMAP, PSI, devTLB, MAP, PSI */
    assert_int_equal(got.r[0].kind, IOSIM_REC_UNMAP);
    assert_int_equal(got.r[1].desc, IOSIM_DESC_IOTLB);
    assert_int_equal(got.r[1].iova, 0xffff1000);
    assert_int_equal(got.r[1].flags, IOSIM_INVAL_IH);
    assert_int_equal(got.r[2].desc, IOSIM_DESC_DEVTLB);
    assert_int_equal(got.r[3].kind, IOSIM_REC_MAP);
    assert_int_equal(got.r[4].iova, 0xffff2000);
    assert_int_equal(got.r[4].flags, 0);
    free(got.r);
    /* 6.1: one tail write (and wait) per descriptor */
    snprintf(q, sizeof q, "%s%s%s%s%s%s%s%s%s", tail, psi1, wait, tail, dev1,
             wait, tail, psi2, wait);
    memset(&c, 0, sizeof c);
    recs_t got61 = {0};
    import_pair(g, q, &got61, &c);
    assert_int_equal(c.qemu_anchors, 3);
    assert_int_equal(c.qemu_tail_writes, 3);
    assert_int_equal(got61.n, 5);
    free(got61.r);
}

/* The real 6.12 pair: 22 guest descriptors (13 IOTLB, 9 devTLB) from 4
 * maps and 9 unmaps (grep -c ' map: ' / ' unmap: ' / 'iotlb_inv' /
 * 'dev_tlb_inv' on the guest cut), which QEMU received after 13 tail
 * writes: one per map (its PSI) and one per unmap (PSI + devTLB). */
static void test_qemu_excerpt_612(void **state)
{
    (void)state;
    const char *guest = DATA "ftrace-redis-strict-612-qemu-guest.txt";
    const char *qlog = DATA "qemu-redis-strict-612.log";
    import_opts_t o = default_opts();
    o.guest_path = guest;
    import_counts_t c = {0};
    recs_t got = {0};
    iosim_err_t err = {0};
    assert_int_equal(run_import("qemu", qlog, &o, &got, &c, &err), 0);
    /* line 42 holds the QEMU copy of the guest's first qi_submit
     * (0x600f2 0xffff9040), nothing before it is a descriptor:
     *   sed -n '1,41p' qemu-redis-strict-612.log | grep -c vtd_inv_desc => 0 */
    assert_int_equal(c.qemu_desc_skipped, 0);
    assert_int_equal(c.qemu_anchors, 22);
    assert_int_equal(c.qemu_anchors, grep_c(guest, "qi_submit: ", NULL, NULL));
    /* line 39 is the first anchor's tail write, 386 the tail write of
     * the descriptor (389) after the guest's last one:
     *   sed -n '39,385p' ... | grep -c vtd_inv_qi_tail => 13 */
    assert_int_equal(c.qemu_tail_writes, 13);
    assert_int_equal(c.qemu_tail_writes,
                     grep_c(guest, " map: ", NULL, NULL) +
                         grep_c(guest, " unmap: ", NULL, NULL));
    /*   sed -n '42,389p' ... | grep -c vtd_dmar_translate    => 86
     *   sed -n '42,389p' ... | grep -c vtd_iotlb_page_hit    => 76
     *   sed -n '42,389p' ... | grep -c vtd_iotlb_page_update => 10 */
    assert_int_equal(count_kind(&got, IOSIM_REC_DMA), 86);
    assert_int_equal(c.qemu_iotlb_hits, 76);
    assert_int_equal(c.qemu_iotlb_misses, 10);
    assert_int_equal(count_kind(&got, IOSIM_REC_UNMAP),
                     grep_c(guest, " unmap: ", NULL, NULL));
    assert_int_equal(count_kind(&got, IOSIM_REC_MAP),
                     grep_c(guest, " map: ", NULL, NULL) + c.qemu_premapped);
    assert_int_equal(count_desc(&got, IOSIM_DESC_IOTLB), 13);
    assert_int_equal(count_desc(&got, IOSIM_DESC_DEVTLB), 9);
    /* the dma_map_page / dma_unmap_page lines: skipped */
    assert_int_equal(c.dma_api_skipped, 13);
    /* each unmap's PSI (qw1 ...040/...041) came with IH: 9 of them */
    size_t ih = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (i > 0)
            assert_true(got.r[i].t >= got.r[i - 1].t);
        if (got.r[i].kind == IOSIM_REC_INVAL &&
            got.r[i].desc == IOSIM_DESC_IOTLB)
            ih += (got.r[i].flags & IOSIM_INVAL_IH) != 0;
    }
    assert_int_equal(ih, 9);
    free(got.r);
}

/* The records of an import, kind, IOVA and size, against a list. */
typedef struct want_rec {
    uint8_t kind;
    uint64_t iova;
    uint64_t size;
} want_rec_t;

static void assert_recs(const recs_t *got, const want_rec_t *want, size_t n)
{
    assert_int_equal(got->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got->r[i].kind, want[i].kind);
        assert_int_equal(got->r[i].iova, want[i].iova);
        assert_int_equal(got->r[i].size, want[i].size);
        if (i > 0)
            assert_true(got->r[i].t >= got->r[i - 1].t);
    }
}

/* A hand-made case of every alignment rule (import_qemu.c header). */
static void test_qemu_alignment_rule(void **state)
{
    (void)state;
    static const char guest[] =
        "# entries-in-buffer/entries-written: 8/8   #P:2\n"
        " a-1 [000] ..... 1.000000: map: IOMMU: iova=0x00000000ffff0000"
        " - 0x00000000ffff1000 paddr=0x0000000000100000 size=4096\n"
        " a-1 [000] ..... 1.000001: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff0000 0x0 0x0\n"
        " a-1 [000] ..... 1.000002: map: IOMMU: iova=0x00000000ffff1000"
        " - 0x00000000ffff2000 paddr=0x0000000000200000 size=4096\n"
        " a-1 [000] ..... 1.000003: unmap: IOMMU: iova=0x00000000ffff0000"
        " - 0x00000000ffff1000 size=4096 unmapped_size=4096\n"
        " a-1 [000] ..... 1.000004: map: IOMMU: iova=0x00000000ffff0000"
        " - 0x00000000ffff1000 paddr=0x0000000000300000 size=4096\n"
        " a-1 [000] ..... 1.000005: unmap: IOMMU: iova=0x00000000ffff1000"
        " - 0x00000000ffff2000 size=4096 unmapped_size=4096\n"
        " b-2 [001] ..... 1.000006: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff1000 0x0 0x0\n"
        " a-1 [000] ..... 1.000006: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff0000 0x0 0x0\n";
    static const char qemu[] =
        /* before the guest traced: skipped / dropped (its QEMU
         * IOTLB miss is not counted) */
        "vtd_inv_qi_tail write tail 2\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xfffe0000 low 0x200f2\n"
        "vtd_iotlb_page_update IOTLB page update sid 0x100 iova 0xfffe0000 "
        "slpte 0x1 domain 0x2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xfffe0000 -> gpa 0x500000 mask "
        "0xfff\n"
        /* anchor 1, its own tail write (a trapped submission) */
        "vtd_inv_qi_tail write tail 4\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xffff0000 low 0x200f2\n"
        "vtd_inv_desc invalidate desc type wait high 0x1000 low 0x200000025\n"
        /* first lifetime of ffff0000 (mapped now): a QEMU miss */
        "vtd_iotlb_page_update IOTLB page update sid 0x100 iova 0xffff0000 "
        "slpte 0x1 domain 0x2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xffff0000 -> gpa 0x100000 mask "
        "0xfff\n"
        /* second lifetime: pulls map ffff1000, unmap, map ffff0000 */
        "vtd_iotlb_page_hit IOTLB page hit sid 0x100 iova 0xffff0000 slpte 0x1 "
        "domain 0x2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xffff0000 -> gpa 0x300000 mask "
        "0xfff\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xffff1000 -> gpa 0x200000 mask "
        "0xfff\n"
        /* an IOVA the guest mapped before tracing (a ring), 8 KiB */
        "vtd_dmar_translate dev 01:00.00 iova 0xfffff000 -> gpa 0x700000 mask "
        "0x1fff\n"
        /* the two tied descriptors in lock order (not file order),
         * one tail write for both: one submission */
        "vtd_inv_qi_tail write tail 8\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xffff0000 low 0x200f2\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xffff1000 low 0x200f2\n"
        /* after the last anchor: kept until the next descriptor */
        "vtd_dmar_translate dev 01:00.00 iova 0xfffff000 -> gpa 0x700000 mask "
        "0xfff\n"
        "vtd_inv_desc invalidate desc type iotlb high 0xfffe0000 low 0x200f2\n"
        "vtd_dmar_translate dev 01:00.00 iova 0xfffff000 -> gpa 0x700000 mask "
        "0xfff\n";
    import_counts_t c = {0};
    recs_t got = {0};
    import_pair(guest, qemu, &got, &c);
    static const want_rec_t want[] = {
        {IOSIM_REC_MAP, 0xffff0000, 4096},
        {IOSIM_REC_INVAL, 0xffff0000, 0},
        {IOSIM_REC_DMA, 0xffff0000, 4096},
        {IOSIM_REC_MAP, 0xffff1000, 4096},
        {IOSIM_REC_UNMAP, 0xffff0000, 4096},
        {IOSIM_REC_MAP, 0xffff0000, 4096},
        {IOSIM_REC_DMA, 0xffff0000, 4096},
        {IOSIM_REC_DMA, 0xffff1000, 4096},
        {IOSIM_REC_MAP, 0xfffff000, 8192}, /* explicit: mapped before tracing */
        {IOSIM_REC_DMA, 0xfffff000, 8192},
        {IOSIM_REC_UNMAP, 0xffff1000, 4096},
        {IOSIM_REC_INVAL, 0xffff0000, 0},
        {IOSIM_REC_INVAL, 0xffff1000, 0},
        {IOSIM_REC_DMA, 0xfffff000, 4096},
    };
    assert_recs(&got, want, sizeof want / sizeof want[0]);
    assert_int_equal(c.qemu_dma, 7);
    assert_int_equal(c.qemu_dma_dropped, 2);
    /* the first DMA to 0xfffff000 finds it unmapped and makes its
     * pre-capture mapping explicit; the second then finds it mapped */
    assert_int_equal(c.qemu_dma_unmapped, 1);
    assert_int_equal(c.qemu_premapped, 1);
    assert_int_equal(c.qemu_desc_skipped, 1);
    /* QEMU outcomes of kept DMAs: the update before the first lifetime,
     * the hit before the second; the other kept DMAs have none */
    assert_int_equal(c.qemu_iotlb_misses, 1);
    assert_int_equal(c.qemu_iotlb_hits, 1);
    /* tail writes before matched guest descriptors: anchor 1's and the
     * tied pair's (one); the skipped descriptor's is not the guest's */
    assert_int_equal(c.qemu_tail_writes, 2);
    assert_int_equal(got.r[0].domain, 2); /* DID of 0x200f2 */
    free(got.r);
}

/* one translation of a 4 KiB page in QEMU's log; one wanted record */
#define XL(iova, gpa)                                                          \
    "vtd_dmar_translate dev 01:00.00 iova " iova " -> gpa " gpa " mask "       \
    "0xfff\n"
#define W(kind, iova, size)                                                    \
    {                                                                          \
        IOSIM_REC_##kind, iova, size                                           \
    }

/* Pre-capture buffers over several pages (import_qemu.c premap_join): a
 * translation of the page after an explicit MAP's last one, next in the
 * log with nothing put in between and the gpa one page on too, grows
 * that MAP (QEMU translates one buffer's pages one after the other;
 * Linux mapped the buffer with one dma_map and unmaps it whole).  Each
 * case below breaks one condition and must get a MAP of its own. */
static void test_qemu_premap_join(void **state)
{
    (void)state;
    static const char guest[] =
        "# entries-in-buffer/entries-written: 6/6   #P:1\n"
        " n-7 [000] ..... 2.000000: map: IOMMU: iova=0x00000000ffff4000"
        " - 0x00000000ffff5000 paddr=0x0000000000900000 size=4096\n"
        " n-7 [000] ..... 2.000001: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff4000 0x0 0x0\n"
        " n-7 [000] ..... 2.000002: unmap: IOMMU: iova=0x00000000ffff4000"
        " - 0x00000000ffff5000 size=4096 unmapped_size=4096\n"
        " n-7 [000] ..... 2.000003: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xffff4000 0x0 0x0\n"
        " n-7 [000] ..... 2.000004: unmap: IOMMU: iova=0x00000000fffe2000"
        " - 0x00000000fffe4000 size=8192 unmapped_size=8192\n"
        " n-7 [000] ..... 2.000005: qi_submit: iotlb_inv dmar0: 0x200f2"
        " 0xfffe2000 0x0 0x0\n";
    // clang-format off
    static const char qemu[] =
        "vtd_inv_desc invalidate desc type iotlb high 0xffff4000 low 0x200f2\n"
        /* a buffer over two pages: one MAP of 8 KiB (QEMU's IOTLB line
         * between the two translations is no translation) */
        XL("0xfffe2000", "0x400000")
        "vtd_iotlb_page_update IOTLB page update sid 0x100 iova 0xfffe3000 "
        "slpte 0x1 domain 0x2\n"
        XL("0xfffe3000", "0x401000")
        /* a ring page: not the page after */
        XL("0xfffff000", "0x700000")
        /* the next IOVA page but not the next gpa page: two buffers */
        XL("0xfffe0000", "0x500000")
        XL("0xfffe1000", "0x502000")
        /* the page after, but the guest's records (anchor 2) come first */
        XL("0xfffdc000", "0x600000")
        "vtd_inv_desc invalidate desc type iotlb high 0xffff4000 low 0x200f2\n"
        XL("0xfffdd000", "0x601000")
        /* three pages: one MAP of 12 KiB */
        XL("0xfffd8000", "0x800000")
        XL("0xfffd9000", "0x801000")
        XL("0xfffda000", "0x802000")
        /* a page already translated, then the page after the 12 KiB MAP:
         * the translation between closes it */
        XL("0xfffe2000", "0x400000")
        XL("0xfffdb000", "0x803000")
        "vtd_inv_desc invalidate desc type iotlb high 0xfffe2000 low 0x200f2\n";
    // clang-format on
    import_counts_t c = {0};
    recs_t got = {0};
    import_pair(guest, qemu, &got, &c);
    static const want_rec_t want[] = {
        W(MAP, 0xffff4000, 4096),   W(INVAL, 0xffff4000, 0),
        W(MAP, 0xfffe2000, 8192),   W(DMA, 0xfffe2000, 4096),
        W(DMA, 0xfffe3000, 4096),   W(MAP, 0xfffff000, 4096),
        W(DMA, 0xfffff000, 4096),   W(MAP, 0xfffe0000, 4096),
        W(DMA, 0xfffe0000, 4096),   W(MAP, 0xfffe1000, 4096),
        W(DMA, 0xfffe1000, 4096),   W(MAP, 0xfffdc000, 4096),
        W(DMA, 0xfffdc000, 4096),   W(UNMAP, 0xffff4000, 4096),
        W(INVAL, 0xffff4000, 0),    W(MAP, 0xfffdd000, 4096),
        W(DMA, 0xfffdd000, 4096),   W(MAP, 0xfffd8000, 12288),
        W(DMA, 0xfffd8000, 4096),   W(DMA, 0xfffd9000, 4096),
        W(DMA, 0xfffda000, 4096),   W(DMA, 0xfffe2000, 4096),
        W(MAP, 0xfffdb000, 4096),   W(DMA, 0xfffdb000, 4096),
        W(UNMAP, 0xfffe2000, 8192), W(INVAL, 0xfffe2000, 0),
    };
    assert_recs(&got, want, sizeof want / sizeof want[0]);
    /* a MAP's physical address is its first page's */
    assert_int_equal(got.r[2].aux, 0x400000);
    assert_int_equal(got.r[17].aux, 0x800000);
    /* MAPs made explicit, and the pages that joined one */
    assert_int_equal(c.qemu_premapped, 8);
    assert_int_equal(c.qemu_premapped_joined, 3);
    /* every translation of a pre-capture page that was not live */
    assert_int_equal(c.qemu_dma_unmapped, 11);
    free(got.r);
}
#undef XL
#undef W

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_digits),
        cmocka_unit_test(test_decode_by_hand),
        cmocka_unit_test(test_parse_real_line),
        cmocka_unit_test(test_strict_excerpt),
        cmocka_unit_test(test_lazy_excerpt),
        cmocka_unit_test(test_strict_excerpt_612),
        cmocka_unit_test(test_lazy_excerpt_612),
        cmocka_unit_test(test_kernel_61_records),
        cmocka_unit_test(test_kernel_612_records),
        cmocka_unit_test(test_ih_by_kernel),
        cmocka_unit_test(test_kernel_612_lazy_flush),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_tie_rule),
        cmocka_unit_test(test_zstd_input),
        cmocka_unit_test(test_malformed_line),
        cmocka_unit_test(test_qemu_excerpt),
        cmocka_unit_test(test_qemu_sync_local_reorder),
        cmocka_unit_test(test_qemu_sync_reorder_window),
        cmocka_unit_test(test_qemu_alignment_rule),
        cmocka_unit_test(test_qemu_premap_join),
        cmocka_unit_test(test_qemu_batched_submission),
        cmocka_unit_test(test_qemu_excerpt_612),
        cmocka_unit_test(test_qemu_e1000e_tie_cut),
        cmocka_unit_test(test_qemu_misalignment_names_both),
        cmocka_unit_test(test_qemu_huge_unmap),
        cmocka_unit_test(test_qemu_map_size_limit),
        cmocka_unit_test(test_nothing_to_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
