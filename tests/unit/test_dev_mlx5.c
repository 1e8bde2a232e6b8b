/* test_dev_mlx5.c — the mlx5 device model (sim/dev/dev_mlx5.c): the
 * accesses it emits for hand-written MAP / UNMAP / MARK records, counted
 * by hand from the parameters.
 *
 * Common setting (small rings so the counts stay countable): one channel,
 * MPS 256 B, MRRS 512 B, 64 B WQEs and CQEs, ATS off (one IOTLB lookup
 * per page a request touches; every request below stays inside one 4 KB
 * page, since the model cuts TLPs at page borders, so iotlb.lookups =
 * dma.requests), sim.window_only=false (everything counts).
 * Ring pages with dev.mlx5.rings=traced: rx CQ 8 x 64 B = 1 page, RQ
 * rx_wqes x 64 B = 1 page, tx CQ 64 x 64 B = 1 page, SQ 64 x 64 B = 1
 * page: the trace's first 4 maps.
 * Per rx packet of 1000 B with 1024 B strides (4 strides per 4 KB WQE
 * page): 1000 = 3 x 256 + 232: 4 write TLPs; + 1 CQE write (64 B); + 1
 * WQE read (64 B) for the first packet of a WQE.  So the first packet of
 * a WQE costs 6 requests, 1128 B, the others 5 requests, 1064 B; a WQE of
 * 4 packets 21 requests, 4320 B.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct counts {
    uint64_t lookups, requests, bytes, faults;
} counts_t;

// clang-format off
#define BASE_SETS                                                            \
    "dev.model=mlx5", "sim.window_only=false", "dev.mlx5.channels=1",       \
        "dev.mlx5.mps=256", "dev.mlx5.mrrs=512", "dev.mlx5.wqe_bytes=64",   \
        "dev.mlx5.cqe_bytes=64", "dev.mlx5.rx_cqes=8",                      \
        "dev.mlx5.tx_wqes=64", "dev.mlx5.tx_cqes=64"
// clang-format on

/* Runs recs through a sim of BASE_SETS plus extra (NULL-terminated). */
static counts_t run(const iosim_rec_t *recs, size_t n, const char *const *extra)
{
    static const char *const base[] = {BASE_SETS, NULL};
    iosim_sim_t *s = sim_from_set_lists(base, extra, NULL);
    sim_run(s, recs, n);
    counts_t c = {test_stat(s, "iotlb.lookups"), test_stat(s, "dma.requests"),
                  test_stat(s, "dma.bytes"), test_stat(s, "dma.faults")};
    iosim_sim_free(s);
    return c;
}

/* 4 ring pages, 2 rx pages (rx_wqes 2 x 1 page), 10 request marks, then
 * one more 4 KB map X and one more mark. */
static size_t rx_trace(iosim_rec_t *r)
{
    size_t n = 0;
    uint64_t t = 1000;
    for (int i = 0; i < 4; i++)
        r[n++] = test_map(t++, 0x100000 + 0x1000 * (uint64_t)i, 4096, 0);
    r[n++] = test_map(t++, 0x200000, 4096, 0); /* P0: WQE slot 0 */
    r[n++] = test_map(t++, 0x201000, 4096, 0); /* P1: WQE slot 1 */
    for (int i = 0; i < 10; i++)
        r[n++] = test_mark(t++, 0);
    r[n++] = test_map(t++, 0x300000, 4096, 0); /* X */
    r[n++] = test_mark(t++, 0);
    return n;
}

// clang-format off
#define RX_SETS                                                              \
    "dev.mlx5.rx_wqes=2", "dev.mlx5.pages_per_wqe=1", "dev.mlx5.stride=1024", \
        "dev.mlx5.packet_bytes=1000"
// clang-format on

/* page-pool (6.12): packets 1-4 fill P0's WQE, 5-8 P1's, and P0's WQE,
 * recycled mapped, takes 9-10: 21 + 21 + (6 + 5) = 53 requests,
 * 4320 + 4320 + 1128 + 1064 = 10832 B.  The pool is full, so X is a tx
 * buffer: SQ WQE read (1, 64 B), 4096 B read in 8 x 512 B, tx CQE (1,
 * 64 B): 10 requests, 4224 B.  The last mark lands in P0's WQE at stride
 * 2: 5 requests, 1064 B.  Total 68 requests, 16120 B. */
static void test_rx_page_pool(void **state)
{
    (void)state;
    iosim_rec_t r[32];
    size_t n = rx_trace(r);
    const char *extra[] = {RX_SETS, "dev.mlx5.rx_pages=page-pool", NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 68);
    assert_int_equal(c.lookups, 68);
    assert_int_equal(c.bytes, 16120);
    assert_int_equal(c.faults, 0);
}

/* unmap-per-page (v6.0 without its cache): P0's and P1's WQEs take
 * packets 1-8 (42 requests, 8640 B); their pages are released, not
 * reposted, so packets 9 and 10 find no WQE and are dropped.  X refills
 * the pool (it is short of 2 pages), so it is an rx page: a WQE of its
 * own, and the last packet starts it: 6 requests, 1128 B.  Total 48
 * requests, 9768 B. */
static void test_rx_unmap_per_page(void **state)
{
    (void)state;
    iosim_rec_t r[32];
    size_t n = rx_trace(r);
    const char *extra[] = {RX_SETS, "dev.mlx5.rx_pages=unmap-per-page", NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 48);
    assert_int_equal(c.lookups, 48);
    assert_int_equal(c.bytes, 9768);
}

static iosim_rec_t repost_at(uint64_t t, uint64_t iova)
{
    iosim_rec_t m = test_mark(t, 0);
    m.flags = IOSIM_MARK_REPOST;
    m.iova = iova;
    m.size = 4096;
    return m;
}

/* unmap-per-page with MARK reposts (the v6.0 rx cache giving P0 and P1
 * back): rx_trace with "repost P0, repost P1" after packet 8.  The
 * reposts post both WQEs again, so packets 9-10 go to P0's WQE, X finds
 * the pool full (a tx buffer) and the last packet lands in P0's WQE:
 * the page-pool run's 68 requests and 16120 B (test_rx_page_pool).  In
 * page-pool mode the pool already holds both pages: the reposts change
 * nothing. */
static void test_rx_repost(void **state)
{
    (void)state;
    iosim_rec_t base[32], r[34];
    size_t nb = rx_trace(base), n = 0;
    for (size_t i = 0; i < nb; i++) {
        r[n++] = base[i];
        if (i == 6 + 7) { /* after the 8th mark */
            r[n++] = repost_at(base[i].t, 0x200000);
            r[n++] = repost_at(base[i].t, 0x201000);
        }
    }
    const char *v60[] = {RX_SETS, "dev.mlx5.rx_pages=unmap-per-page", NULL};
    counts_t c = run(r, n, v60);
    assert_int_equal(c.requests, 68);
    assert_int_equal(c.lookups, 68);
    assert_int_equal(c.bytes, 16120);
    const char *pool[] = {RX_SETS, "dev.mlx5.rx_pages=page-pool", NULL};
    c = run(r, n, pool);
    assert_int_equal(c.requests, 68);
    assert_int_equal(c.bytes, 16120);
}

/* A repost of a page the trace does not have mapped, or not a 4 KB page,
 * cannot be served: one error naming the IOVA. */
static void test_repost_errors(void **state)
{
    (void)state;
    iosim_rec_t r[2] = {test_map(10, 0x200000, 4096, 0),
                        repost_at(11, 0x300000)};
    const char *sets[] = {BASE_SETS, "dev.mlx5.rings=none",
                          "dev.mlx5.profile=gen-nic", NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(s, r, 2, &err), -1);
    assert_non_null(strstr(err.msg, "MARK repost of 4096 bytes at iova "
                                    "0x300000: not a mapped 4 KB page"));
    iosim_sim_free(s);
    /* mlx5e: a mapped page the pool never took */
    r[0] = test_map(10, 0x200000, 8192, 0); /* a tx buffer */
    r[1] = repost_at(11, 0x200000);
    const char *sets2[] = {BASE_SETS, "dev.mlx5.rings=none",
                           "dev.mlx5.rx_wqes=1", "dev.mlx5.pages_per_wqe=1",
                           NULL};
    s = sim_from_sets(sets2);
    err = (iosim_err_t){0};
    assert_int_equal(iosim_sim_consume(s, r, 2, &err), -1);
    assert_non_null(strstr(err.msg, "not an rx page of the pool"));
    iosim_sim_free(s);
}

/* Tx, and TLP cuts at page borders: after the 4 ring maps and a pool of
 * 2 rx pages, an 8 KB map (not a page: tx): WQE read 1, 8192 / 512 = 16
 * reads, CQE 1: 18 requests, 8320 B.  A 4 KB map at 0x500800 (not page
 * aligned: tx): 2048 B to the page border in 4 x 512, 2048 B after it in
 * 4 x 512, + WQE + CQE: 10 requests, 4224 B.  No marks: no rx. */
static void test_tx_split(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        r[n++] = test_map(10 + (uint64_t)i, 0x100000 + 0x1000 * (uint64_t)i,
                          4096, 0);
    r[n++] = test_map(20, 0x200000, 4096, 0);
    r[n++] = test_map(21, 0x201000, 4096, 0);
    r[n++] = test_map(22, 0x400000, 8192, 0);
    r[n++] = test_map(23, 0x500800, 4096, 0);
    r[n++] = test_unmap(24, 0x400000, 8192, 0);
    r[n++] = test_unmap(25, 0x500800, 4096, 0);
    const char *extra[] = {RX_SETS, NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 28);
    assert_int_equal(c.bytes, 12544);
    /* the 0x500800 buffer spans 2 pages, 8 reads, one page each */
    assert_int_equal(c.lookups, 28);
}

/* Non-linear strides (64 B), a packet straddling two pages and a filler
 * CQE: rx_wqes 1 of 2 pages (128 strides), packets of 3000 B = 47 strides.
 * 1: WQE read; 3000 B at offset 0 = 11 x 256 + 184: 12 writes; CQE: 14
 *    requests, 3128 B.
 * 2: at stride 47 = offset 3008: 1088 B to the page border (4 x 256 +
 *    64: 5 writes), 1912 B in page 2 (7 x 256 + 120: 8 writes); CQE: 14
 *    requests, 3064 B.
 * 3: stride 94 + 47 > 128: filler CQE (1, 64 B); the WQE goes back to
 *    the pool and is posted again; WQE read, 12 writes, CQE: 15
 *    requests, 3192 B.
 * Total 43 requests, 9384 B. */
static void test_stride_straddle_filler(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        r[n++] = test_map(10 + (uint64_t)i, 0x100000 + 0x1000 * (uint64_t)i,
                          4096, 0);
    r[n++] = test_map(20, 0x200000, 4096, 0);
    r[n++] = test_map(21, 0x201000, 4096, 0);
    for (int i = 0; i < 3; i++)
        r[n++] = test_mark(30 + (uint64_t)i, 0);
    const char *extra[] = {"dev.mlx5.rx_wqes=1", "dev.mlx5.pages_per_wqe=2",
                           "dev.mlx5.stride=64", "dev.mlx5.packet_bytes=3000",
                           NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 43);
    assert_int_equal(c.lookups, 43);
    assert_int_equal(c.bytes, 9384);
}

/* dev.mlx5.profile=gen-nic (gen nic's device half): the 4 ring maps
 * (read-write) are RQ, rx CQ, SQ, tx CQ; rx pages are the write-only 4 KB
 * maps, in map order, 2 per WQE; X is read-only: a tx buffer of which
 * tx_bytes=64 are read.  Packets of 3000 B in 1024 B strides take 3072 B,
 * so a WQE of 8192 B holds 2 (the third does not fit: next WQE, no
 * filler CQE).  Packet at offset 0: WQE read + 3000 B in 11 x 256 + 184
 * (12 writes) + CQE = 14 requests, 3128 B; packet at offset 3072: 1024 B
 * (4 writes) + 1976 B (8 writes) + CQE = 13 requests, 3064 B.  Packets
 * 1-2 fill WQE P0 P1, 3-4 WQE P2 P3; packet 5 finds no WQE and waits for
 * P4 P5 (then 14, 3128 B); X: SQ read + 64 B + tx CQE = 3, 192 B.
 * Total 71 requests, 15704 B. */
static size_t gen_nic_trace(iosim_rec_t *r, bool runs)
{
    size_t n = 0;
    uint64_t t = 10;
    for (int i = 0; i < 4; i++) {
        /* runs: read-write ring pages, each below the previous one */
        uint64_t iova = runs ? 0x103000 - 0x1000 * (uint64_t)i
                             : 0x100000 + 0x1000 * (uint64_t)i;
        r[n] = test_map(t++, iova, 4096, 0);
        if (runs)
            r[n].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
        n++;
    }
    for (int i = 0; i < 4; i++) {
        r[n] = test_map(t++, 0x200000 + 0x1000 * (uint64_t)i, 4096, 0);
        r[n++].flags = IOSIM_PROT_WRITE;
    }
    for (int i = 0; i < 5; i++)
        r[n++] = test_mark(t++, 0);
    for (int i = 4; i < 6; i++) {
        r[n] = test_map(t++, 0x200000 + 0x1000 * (uint64_t)i, 4096, 0);
        r[n++].flags = IOSIM_PROT_WRITE;
    }
    r[n] = test_map(t++, 0x300000, 4096, 0);
    r[n++].flags = IOSIM_PROT_READ;
    return n;
}

/* Also with rings=runs: the same trace with its 4 ring pages mapped
 * read-write at descending IOVAs (gen nic takes each ring's range below
 * the previous one), so each is a run of its own: RQ, rx CQ, SQ, tx CQ
 * of one page each, as the sizes above give; rx_wqes and rx_cqes are set
 * to values that would give other page counts.  Same accesses. */
static void test_gen_nic_profile(void **state)
{
    (void)state;
    for (int runs = 0; runs < 2; runs++) {
        iosim_rec_t r[20];
        size_t n = gen_nic_trace(r, runs);
        const char *extra[] = {
            "dev.mlx5.profile=gen-nic",
            "dev.mlx5.pages_per_wqe=2",
            "dev.mlx5.stride=1024",
            "dev.mlx5.packet_bytes=3000",
            "dev.mlx5.tx_bytes=64",
            runs ? "dev.mlx5.rings=runs" : "dev.mlx5.rings=traced",
            runs ? "dev.mlx5.rx_wqes=200" : "dev.mlx5.rx_wqes=2",
            runs ? "dev.mlx5.rx_cqes=1000" : "dev.mlx5.rx_cqes=8",
            NULL};
        counts_t c = run(r, n, extra);
        assert_int_equal(c.requests, 71);
        assert_int_equal(c.lookups, 71);
        assert_int_equal(c.bytes, 15704);
        assert_int_equal(c.faults, 0);
    }
}

static void test_runs_needs_gen_nic(void **state)
{
    (void)state;
    /* runs needs the gen-nic profile (rings told by prot) */
    iosim_err_t err = {0};
    iosim_config_t *cfg = iosim_config_new();
    assert_non_null(cfg);
    assert_int_equal(iosim_config_set(cfg, "dev.model=mlx5", &err), 0);
    assert_int_equal(iosim_config_set(cfg, "dev.mlx5.rings=runs", &err), 0);
    assert_null(iosim_sim_new(cfg, "t", NULL, &err));
    assert_non_null(strstr(err.msg, "runs needs dev.mlx5.profile gen-nic"));
    iosim_config_free(cfg);
}

/* Channels and an rx unmap: rings=none (no WQE / CQE accesses), 2
 * channels of 1 WQE of 1 page.  P0 mapped on cpu 1 goes to channel 1;
 * P1 on cpu 1 finds channel 1 full and goes to channel 0.  P1 is then
 * unmapped (the pool's page leaves it), so the packet of cpu 0 (channel
 * 0) finds its page gone and writes nothing; the packet of cpu 1 writes
 * 1000 B into P0: 4 requests, 1000 B. */
static void test_channels_and_unmap(void **state)
{
    (void)state;
    iosim_rec_t r[8];
    size_t n = 0;
    r[n++] = test_map(10, 0x200000, 4096, 1);
    r[n++] = test_map(11, 0x201000, 4096, 1);
    r[n++] = test_unmap(12, 0x201000, 4096, 1);
    r[n++] = test_mark(13, 0);
    r[n++] = test_mark(14, 1);
    const char *extra[] = {"dev.mlx5.channels=2",
                           "dev.mlx5.rings=none",
                           "dev.mlx5.rx_wqes=1",
                           "dev.mlx5.pages_per_wqe=1",
                           "dev.mlx5.stride=1024",
                           "dev.mlx5.packet_bytes=1000",
                           NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 4);
    assert_int_equal(c.bytes, 1000);
    assert_int_equal(c.faults, 0);
}

/* Packets by line rate: rings=none, one WQE of one page, 1000 B packets
 * at 8 Gb/s = 1 packet per 1000 ns.  Records at t = 0 (the rx map) and
 * t = 2500: 2.5 packets due, 2 delivered (the half carries): 2 x 4
 * writes = 8 requests, 2000 B.  rx_per_mark=0: the mark adds none. */
static void test_rx_rate(void **state)
{
    (void)state;
    iosim_rec_t r[4];
    size_t n = 0;
    r[n++] = test_map(0, 0x200000, 4096, 0);
    r[n++] = test_mark(2500, 0);
    const char *extra[] = {"dev.mlx5.rings=none",        "dev.mlx5.rx_wqes=1",
                           "dev.mlx5.pages_per_wqe=1",   "dev.mlx5.stride=1024",
                           "dev.mlx5.packet_bytes=1000", "dev.mlx5.rx_gbps=8",
                           "dev.mlx5.rx_per_mark=0",     NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 8);
    assert_int_equal(c.bytes, 2000);
}

/* A map with no role is an error naming the model: after the rings and
 * a full pool, a 1 MiB map is no 4 KB rx page and larger than any tx
 * buffer (dev.mlx5.tx_map_max 64 KiB + 4 KiB). */
static void test_no_role_error(void **state)
{
    (void)state;
    iosim_rec_t r[8];
    size_t n = 0;
    r[n++] = test_map(10, 0x200000, 4096, 0); /* rings=none: rx page */
    r[n++] = test_map(11, 0x400000, 1 << 20, 0);
    const char *sets[] = {BASE_SETS, "dev.mlx5.rings=none",
                          "dev.mlx5.rx_wqes=1", "dev.mlx5.pages_per_wqe=1",
                          NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_err_t err = {0};
    assert_int_equal(iosim_sim_consume(s, r, n, &err), -1);
    assert_non_null(strstr(err.msg, "mlx5: map of 1048576 bytes"));
    assert_non_null(strstr(err.msg, "no role"));
    iosim_sim_free(s);
}

/* Parameters checked when the model is built. */
static void test_bad_stride(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    assert_int_equal(iosim_config_set(c, "dev.model=mlx5", &err), 0);
    assert_int_equal(iosim_config_set(c, "dev.mlx5.stride=1000", &err), 0);
    iosim_sim_t *s = iosim_sim_new(c, "t", NULL, &err);
    assert_null(s);
    assert_non_null(strstr(err.msg, "dev.mlx5.stride"));
    assert_int_equal(iosim_config_set(c, "dev.mlx5.rx_pages=sometimes", &err),
                     -1);
    iosim_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rx_page_pool),
        cmocka_unit_test(test_rx_unmap_per_page),
        cmocka_unit_test(test_tx_split),
        cmocka_unit_test(test_stride_straddle_filler),
        cmocka_unit_test(test_channels_and_unmap),
        cmocka_unit_test(test_rx_rate),
        cmocka_unit_test(test_no_role_error),
        cmocka_unit_test(test_bad_stride),
        cmocka_unit_test(test_gen_nic_profile),
        cmocka_unit_test(test_runs_needs_gen_nic),
        cmocka_unit_test(test_rx_repost),
        cmocka_unit_test(test_repost_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
