/* test_gen_nic_cache.c — `gen nic --rx-cache / --app-lag` (sim/trace/
 * gen_nic_rings.c): v6.0 mlx5's per-rq page cache of DMA-mapped pages.
 *
 * Concepts: a tiny queue whose record counts can be derived by hand:
 *   1 flow, 1 cpu, --ring 8, --pages-per-descriptor 4, MTU 4096, no ACKs,
 *   a poll after every packet (--napi-batch 1), 100 packets, cache of 8
 *   slots (at most 7 pages: full when tail + 1 == head).  The ring is
 *   ceil(8 x 1 / 4) = 2 descriptors = 8 pages; every packet fills one
 *   page (page mode: the next ring page; --stride 4096 with no L2 header:
 *   one 4096 B stride = one page), so a descriptor is used up every 4
 *   packets and refilled (4 page slots) at that same poll.  A page
 *   written by packet k is delivered at poll k and is free at the
 *   refills after k + app_lag (free_at = k + lag + 1 <= Q).
 *   Each test derives MAP / UNMAP counts from that and checks them
 *   against the trace, replaying every record against a live-mapping
 *   table (a DMA may only hit a mapped, writable page).
 * Assumptions: /tmp is writable (mkdtemp scratch directory).
 * Not covered here: the command line (tests/cli/gen.sh checks the option
 *   errors' exit code and message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iosim.h"
#include "trace/gen.h"

#include "test_util.h"

#define NPKT 100
#define PFNS (1u << 20) /* IOVA pages below 4 GiB */

/* What a replay of a generated trace measured. */
typedef struct cache_run {
    size_t maps, unmaps_run, unmaps_end; /* run = between BEGIN and END */
    size_t maps_run;                     /* MAPs after BEGIN, before END */
    size_t dma_writes;
    size_t distinct_iovas;
    long first_run_unmap_pkt; /* requests seen before it; -1 = none */
    uint64_t first_run_unmap_iova;
    uint64_t iova_of_pkt[NPKT]; /* page the packet was written to */
} cache_run_t;

static void small_queue(gen_nic_params_t *p, bool stride)
{
    gen_nic_defaults(p);
    p->flows = 1;
    p->cpus = 1;
    p->ring = 8;
    p->ppd = 4;
    p->mtu = 4096;
    p->ack_every = 0; /* rx pages only */
    p->napi_batch = 1;
    p->packets = NPKT;
    if (stride)
        p->stride = 4096; /* one packet = one page of the descriptor */
}

static cache_run_t run_nic(const gen_nic_params_t *p, const char *name)
{
    iosim_rec_t *r;
    size_t n = gen_nic_records(p, name, &r, NULL);
    cache_run_t c;
    memset(&c, 0, sizeof c);
    c.first_run_unmap_pkt = -1;
    uint8_t *live = calloc(PFNS, 1);
    uint8_t *seen = calloc(PFNS, 1);
    assert_non_null(live);
    assert_non_null(seen);
    int phase = 0; /* 0 fill, 1 run, 2 teardown */
    long pkt = -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t pfn = r[i].iova >> 12;
        switch (r[i].kind) {
        case IOSIM_REC_MARK:
            if (r[i].flags == IOSIM_MARK_BEGIN)
                phase = 1;
            else if (r[i].flags == IOSIM_MARK_END)
                phase = 2;
            else if (r[i].flags == IOSIM_MARK_REQUEST)
                pkt++;
            break;
        case IOSIM_REC_MAP:
            assert_true(r[i].iova < 0x100000000ULL);
            assert_int_equal(live[pfn], 0); /* never mapped twice */
            live[pfn] = 1;
            if (!seen[pfn]) {
                seen[pfn] = 1;
                c.distinct_iovas++;
            }
            c.maps++;
            c.maps_run += phase == 1;
            assert_int_not_equal(phase, 2);
            break;
        case IOSIM_REC_UNMAP:
            assert_int_equal(live[pfn], 1);
            live[pfn] = 0;
            if (phase == 2) {
                c.unmaps_end++;
            } else {
                assert_int_equal(phase, 1);
                if (!c.unmaps_run++) {
                    c.first_run_unmap_pkt = pkt;
                    c.first_run_unmap_iova = r[i].iova;
                }
            }
            break;
        case IOSIM_REC_DMA:
            assert_int_equal(r[i].flags, IOSIM_DMA_WRITE);
            assert_int_equal(live[pfn], 1); /* a reused page is mapped */
            assert_int_equal(r[i].size, 4096);
            assert_true(pkt >= 0 && pkt < NPKT);
            c.iova_of_pkt[pkt] = r[i].iova;
            c.dma_writes++;
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; i < PFNS; i++)
        assert_int_equal(live[i], 0); /* teardown unmapped everything */
    free(live);
    free(seen);
    free(r);
    return c;
}

/* --app-lag 0.  Refill after packet Q = 4m: the cache holds (oldest
 * first) the pages not yet reused plus the 4 pages of packets Q-3..Q;
 * every page of packet k <= Q - 1 is free (free_at = k + 1 <= Q), only
 * the page of packet Q is busy.
 *   Q = 4: cache p1 p2 p3 p4 -> reuse p1 p2 p3, p4 busy -> 1 MAP;
 *          cache p4.
 *   Q = 8: cache p4 p5 p6 p7 p8 -> reuse p4..p7, p8 busy stays; cache
 *          p8 (never more than 5 pages: the 8-slot cache never fills).
 *   every later Q: as Q = 8.
 * MAPs: 8 (fill) + 1 = 9, all distinct IOVAs; no UNMAP during the run;
 * teardown unmaps the 8 ring pages and the 1 cached page. */
static void test_cache_lag0(void **state)
{
    (void)state;
    for (int stride = 0; stride <= 1; stride++) {
        gen_nic_params_t p;
        small_queue(&p, stride);
        p.rx_cache = 8;
        p.app_lag = 0;
        /* ring 8 pages + 7 cached + 1 tx/ACK page */
        assert_int_equal(gen_nic_live_bound(&p), 8 + 7 + 1);
        cache_run_t c = run_nic(&p, "lag0.zst");
        assert_int_equal(c.dma_writes, NPKT);
        assert_int_equal(c.maps, 9);
        assert_int_equal(c.maps_run, 1);
        assert_int_equal(c.distinct_iovas, 9);
        assert_int_equal(c.unmaps_run, 0);
        assert_int_equal(c.unmaps_end, 9);
        /* reuse keeps the IOVA: packet 9 (index 8) goes to the first
         * reused page, the one packet 1 (index 0) was written to */
        assert_int_equal(c.iova_of_pkt[8], c.iova_of_pkt[0]);
    }
}

/* --app-lag 2: page k is free at Q >= k + 3.
 *   Q = 4: cache p1..p4 (free at 4,5,6,7) -> reuse p1; head p2 busy ->
 *          3 MAPs (the head is the only page tried); cache p2 p3 p4.
 *   Q = 8: puts p5..p8 -> 7 pages (the 4th put sees 6 < 7: no overflow);
 *          p2 p3 p4 p5 free (5,6,7,8 <= 8) -> 4 reused; cache p6 p7 p8.
 *   Q = 12: puts p9..p12 -> 7; p6..p9 free (9..12 <= 12); cache 3.
 *   steady state as Q = 12.
 * MAPs 8 + 3 = 11, no UNMAP in the run; teardown 8 + 3 = 11. */
static void test_cache_lag2(void **state)
{
    (void)state;
    for (int stride = 0; stride <= 1; stride++) {
        gen_nic_params_t p;
        small_queue(&p, stride);
        p.rx_cache = 8;
        p.app_lag = 2;
        cache_run_t c = run_nic(&p, "lag2.zst");
        assert_int_equal(c.maps, 11);
        assert_int_equal(c.maps_run, 3);
        assert_int_equal(c.unmaps_run, 0);
        assert_int_equal(c.unmaps_end, 11);
    }
}

/* --app-lag 1000 > packets: no page is ever freed by the application,
 * so the head is always busy: every refill slot is a MAP, 25 descriptors
 * used up x 4 = 100 MAPs + 8 for the fill = 108.  Each of the 100
 * written pages is released once: the first 7 fill the cache (at most
 * 8 - 1), the other 93 are unmapped at once.  The first of these is the
 * page of packet 8, released at its poll (after its request mark, i.e.
 * with 8 requests seen = index 7).  Teardown: 8 ring + 7 cached = 15. */
static void test_cache_busy(void **state)
{
    (void)state;
    for (int stride = 0; stride <= 1; stride++) {
        gen_nic_params_t p;
        small_queue(&p, stride);
        p.rx_cache = 8;
        p.app_lag = 1000;
        cache_run_t c = run_nic(&p, "busy.zst");
        assert_int_equal(c.maps, 108);
        assert_int_equal(c.maps_run, 100);
        assert_int_equal(c.unmaps_run, 93);
        assert_int_equal(c.unmaps_end, 15);
        assert_int_equal(c.first_run_unmap_pkt, 7);
        assert_int_equal(c.first_run_unmap_iova, c.iova_of_pkt[7]);
    }
}

/* --rx-cache 0 is today's model: every released page unmapped, every
 * refill slot mapped (100 packets -> 100 UNMAPs in the run, 8 + 100
 * MAPs), and --app-lag changes nothing: the bytes equal those of the
 * default parameters. */
static void test_cache_off(void **state)
{
    (void)state;
    gen_nic_params_t p;
    small_queue(&p, false);
    cache_run_t c = run_nic(&p, "off_default.zst");
    assert_int_equal(c.maps, 108);
    assert_int_equal(c.unmaps_run, 100);
    assert_int_equal(c.unmaps_end, 8);
    p.rx_cache = 0;
    p.app_lag = 77;
    run_nic(&p, "off_lag.zst");
    size_t la, lb;
    unsigned char *a = slurp(wpath("off_default.zst"), &la);
    unsigned char *b = slurp(wpath("off_lag.zst"), &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

/* Bad sizes: not a power of two, below 2, above 65536; one-line error
 * naming the option, and no output file. */
static void test_cache_bad(void **state)
{
    (void)state;
    const uint64_t bad[] = {3, 1, 6, 131072};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gen_nic_params_t p;
        small_queue(&p, false);
        p.rx_cache = bad[i];
        iosim_err_t err;
        assert_int_equal(gen_nic_write(&p, wpath("bad.zst"), false, &err), -1);
        assert_non_null(strstr(err.msg, "--rx-cache"));
        assert_null(strchr(err.msg, '\n'));
        assert_false(file_exists(wpath("bad.zst")));
    }
    /* the command line refusing a negative number (gen nic's parameter
     * table) is tests/cli/gen.sh's nic-rx-cache-neg */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_lag0), cmocka_unit_test(test_cache_lag2),
        cmocka_unit_test(test_cache_busy), cmocka_unit_test(test_cache_off),
        cmocka_unit_test(test_cache_bad),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
