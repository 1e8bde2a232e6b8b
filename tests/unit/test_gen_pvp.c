/* test_gen_pvp.c — `gen pvp` (sim/trace/gen_pvp.c) and the vhost-iotlb
 * scheme's list walk on its traces.
 *
 * Concepts: the layout numbers are derived by hand in the comments (virtio
 * 1.0 §2.4 vring arithmetic, DPDK object layout); the trace is read back
 * and checked record by record; the scheme's counters are predicted from
 * the trace's own DMA addresses (page index of each access + 1 = entries
 * a sorted-list walk visits), not from the scheme.
 * Assumptions: /tmp is writable (a mkdtemp directory, removed at the end).
 * Not covered here: the command line (tests/cli/gen.sh covers the common
 * option parser).
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

typedef struct recs {
    iosim_rec_t *r;
    size_t n;
} recs_t;

static recs_t write_load(const gen_pvp_params_t *p, const char *name)
{
    recs_t t = {NULL, 0};
    t.n = gen_pvp_records(p, name, &t.r, NULL);
    return t;
}

/* mbufs 1000 x 2368 B = 2,368,000 B of pool; rounded up to 4096:
 * 579 x 4096 = 2,371,584.  vring of 256: 16 x 256 + 2 x (3 + 256) = 4614
 * -> 8192 after alignment, + 2 x 3 + 8 x 256 = 10,246 B; ring stride
 * 12,288.  Last of 4 rings at 2,371,584 + 3 x 12,288 = 2,408,448, ends at
 * 2,418,694 -> two 2 MB pages (4,194,304 B), one 1 GB page. */
static void small(gen_pvp_params_t *p)
{
    gen_pvp_defaults(p);
    p->mbufs = 1000;
    p->packets = 500;
    p->seed = 7;
}

static void test_layout(void **state)
{
    (void)state;
    gen_pvp_params_t p;
    gen_pvp_defaults(&p);
    /* defaults: testpmd pool (2048 + 3 x 250 + 2048 + 512) x 32 */
    assert_int_equal(p.mbufs, 171456);
    assert_int_equal(p.obj_size, 64 + 128 + 128 + 2048);
    assert_int_equal(gen_pvp_vring_bytes(256), 10246);
    /* header pushed into the headroom: 64 + 128 + 128 - 12 */
    assert_int_equal(gen_pvp_buf_offset(&p), 308);
    small(&p);
    assert_int_equal(gen_pvp_region_bytes(&p), 4194304);
    p.page_size = 1ULL << 30;
    assert_int_equal(gen_pvp_region_bytes(&p), 1ULL << 30);
    p.page_size = 4096; /* 2,418,694 -> 591 pages */
    assert_int_equal(gen_pvp_region_bytes(&p), 591 * 4096);

    iosim_err_t err;
    p.page_size = 2ULL << 20;
    p.iova_base = 0x1000; /* not 2 MB aligned */
    assert_int_equal(gen_pvp_check(&p, &err), -1);
    assert_non_null(strstr(err.msg, "--iova-base"));
    small(&p);
    p.page_size = 8192;
    assert_int_equal(gen_pvp_check(&p, &err), -1);
    assert_non_null(strstr(err.msg, "--page-size"));
    small(&p);
    p.obj_size = 300; /* < 308 + 76 */
    assert_int_equal(gen_pvp_check(&p, &err), -1);
    assert_non_null(strstr(err.msg, "--obj-size"));
}

static void test_trace(void **state)
{
    (void)state;
    gen_pvp_params_t p;
    small(&p);
    recs_t t = write_load(&p, "small.zst");
    const uint64_t base = 1ULL << 30, page = 2ULL << 20;
    size_t maps = 0, unmaps = 0, warm = 0, reqs = 0, dmas = 0;
    bool in_window = false, after = false;
    uint64_t idx_sum = 0;
    for (size_t i = 0; i < t.n; i++) {
        const iosim_rec_t *r = &t.r[i];
        switch (r->kind) {
        case IOSIM_REC_MAP:
            assert_false(in_window);
            assert_int_equal(r->iova, base + maps * page);
            assert_int_equal(r->size, page);
            /* contiguous: one constant IOVA -> phys offset */
            assert_int_equal(r->aux - r->iova, 0x1000000000ULL - base);
            maps++;
            break;
        case IOSIM_REC_UNMAP:
            assert_true(after);
            assert_int_equal(r->iova, base + unmaps * page);
            unmaps++;
            break;
        case IOSIM_REC_MARK:
            if (r->flags == IOSIM_MARK_BEGIN) {
                in_window = true;
            } else if (r->flags == IOSIM_MARK_END) {
                in_window = false;
                after = true;
            } else {
                assert_int_equal(r->flags, IOSIM_MARK_REQUEST);
                assert_int_equal(r->aux, reqs);
                /* 1e6 / 14.88 = 67,204 ps per packet */
                assert_int_equal(r->t, reqs * 67204 / 1000);
                /* the next two records: write then read, same buffer */
                assert_true(i + 2 < t.n);
                const iosim_rec_t *w = &t.r[i + 1], *rd = &t.r[i + 2];
                assert_int_equal(w->kind, IOSIM_REC_DMA);
                assert_int_equal(rd->kind, IOSIM_REC_DMA);
                assert_int_equal(w->flags, IOSIM_DMA_WRITE);
                assert_int_equal(rd->flags, IOSIM_DMA_READ);
                assert_int_equal(w->iova, rd->iova);
                assert_int_equal(w->size, 76);
                uint64_t off = w->iova - base - 308;
                assert_int_equal(off % 2368, 0);
                assert_true(off / 2368 < 1000);
                idx_sum += off / 2368;
                reqs++;
            }
            break;
        case IOSIM_REC_DMA:
            if (!in_window) { /* warm-up: page starts, in order */
                assert_false(after);
                assert_int_equal(r->iova, base + warm * page);
                warm++;
            }
            dmas++;
            break;
        default:
            fail_msg("unexpected record kind %u", r->kind);
        }
    }
    assert_int_equal(maps, 2);
    assert_int_equal(unmaps, 2);
    assert_int_equal(warm, 2);
    assert_int_equal(reqs, 500);
    assert_int_equal(dmas, 2 + 2 * 500);
    /* uniform over 0..999: mean 499.5, sd of the mean 288.7 / sqrt(500)
     * = 12.9; allow 4 sd */
    double mean = (double)idx_sum / 500.0;
    assert_true(mean > 499.5 - 52 && mean < 499.5 + 52);
    free(t.r);
}

/* ---- the scheme on these traces --------------------------------------- */
static iosim_sim_t *run(const recs_t *t, const char *const *sets)
{
    static const char *const base[] = {"os.policy=vhost-iotlb",
                                       "scheme.vhost_entry_cycles=4", NULL};
    iosim_trace_meta_t meta = {.cpus = 1, .has_dma = 1};
    iosim_sim_t *s = sim_from_set_lists(base, sets, &meta);
    sim_run(s, t->r, t->n);
    return s;
}

/* Per measured access: the pages it touches, in order; a sorted list of
 * one entry per page (all warmed up) visits page index + 1 entries for
 * each.  Returns lookups, *scanned = entries visited. */
static uint64_t predict(const recs_t *t, uint64_t page, uint64_t *scanned)
{
    const uint64_t base = 1ULL << 30;
    bool in_window = false;
    uint64_t lookups = 0;
    *scanned = 0;
    for (size_t i = 0; i < t->n; i++) {
        const iosim_rec_t *r = &t->r[i];
        if (r->kind == IOSIM_REC_MARK && r->flags != IOSIM_MARK_REQUEST)
            in_window = r->flags == IOSIM_MARK_BEGIN;
        if (r->kind != IOSIM_REC_DMA || !in_window)
            continue;
        uint64_t first = (r->iova - base) / page;
        uint64_t last = (r->iova + r->size - 1 - base) / page;
        for (uint64_t pg = first; pg <= last; pg++) {
            lookups++;
            *scanned += pg + 1;
        }
    }
    return lookups;
}

static void test_list_walk(void **state)
{
    (void)state;
    gen_pvp_params_t p;
    small(&p);
    /* 300,000 mbufs x 2368 B = 677 MiB: 339 pages of 2 MB (the sorted
     * list's length), one page of 1 GB */
    p.mbufs = 300000;
    p.packets = 2000;
    recs_t t = write_load(&p, "walk2m.zst");
    uint64_t scanned;
    uint64_t lookups = predict(&t, 2ULL << 20, &scanned);
    iosim_sim_t *s = run(&t, NULL);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), lookups);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), scanned);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 0); /* warmed up */
    assert_int_equal(test_stat(s, "cpu.sw_iotlb_cycles"), 4 * scanned);
    assert_int_equal(test_stat(s, "trace.requests"), 2000);
    /* uniform over ~339 entries: about 170 per lookup */
    assert_true(scanned > 150 * lookups && scanned < 190 * lookups);
    iosim_sim_free(s);

    /* merging collapses the contiguous pages into one entry */
    const char *merge[] = {"scheme.vhost_merge=true", NULL};
    s = run(&t, merge);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"),
                     test_stat(s, "os.sw_iotlb_lookups"));
    iosim_sim_free(s);
    free(t.r);

    p.page_size = 1ULL << 30;
    t = write_load(&p, "walk1g.zst");
    lookups = predict(&t, 1ULL << 30, &scanned);
    assert_int_equal(scanned, 2 * 2000); /* one entry, two accesses */
    s = run(&t, NULL);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), scanned);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), lookups);
    iosim_sim_free(s);
    free(t.r);
}

/* One list per domain (scheme fix): device A (domain 1) and device B
 * (domain 2) each map one page; A's access misses (empty list, 0
 * visited), B's first access misses with B's list empty (0 visited; A's
 * entry sorts before it but is not B's), B's second access hits the first
 * entry of B's list (1 visited).  Total 1; a single shared list would give
 * 0 + 1 + 2 = 3. */
static void test_domains(void **state)
{
    (void)state;
    iosim_rec_t r[5];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 5; i++)
        r[i].t = (uint64_t)i * 1000;
    r[0].kind = r[1].kind = IOSIM_REC_MAP;
    r[0].device = 0x100, r[0].domain = 1;
    r[1].device = 0x200, r[1].domain = 2;
    r[0].iova = 0x10000000, r[1].iova = 0x20000000;
    r[0].aux = 0x500000000ULL, r[1].aux = 0x600000000ULL;
    r[0].size = r[1].size = 4096;
    r[0].flags = r[1].flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    for (int i = 2; i < 5; i++) {
        r[i].kind = IOSIM_REC_DMA;
        r[i].size = 64;
        r[i].flags = IOSIM_DMA_READ;
        const iosim_rec_t *m = i == 2 ? &r[0] : &r[1];
        r[i].device = m->device, r[i].domain = m->domain;
        r[i].iova = m->iova;
    }
    recs_t t = {r, 5};
    iosim_sim_t *s = run(&t, NULL);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), 3);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 2);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 1);
    iosim_sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_list_walk),
        cmocka_unit_test(test_domains),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
