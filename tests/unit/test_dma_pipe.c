/* test_dma_pipe.c — device time (sim/vtd/dma_pipe.h) and same-timestamp
 * reordering (sim/system/reorder.h), each driven alone.
 *
 * Concepts: every expected time is worked out by hand from the rules in
 *   dma_pipe.h: a request issues when the link is free (and, with
 *   max_outstanding, when the oldest of the last ones landed); base =
 *   l0 x size / p; a walked page waits for a walk engine; the link stage
 *   takes size x 8 / gbps ns; data lands base after the last translation.
 *   With l0 = 64, p = 4096, 32 Gb/s: a 4 KB request has base 64 ns and a
 *   wire time of 1024 ns.
 * Assumptions: the config's defaults for everything else.
 * Not covered here: the page loop and translations (test_schemes.c,
 *   the golden reports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "stats/stat_list.h"
#include "system/reorder.h"
#include "vtd/dma_pipe.h"

static dma_pipe_t *mk(const char *const *sets, size_t n, uint64_t *st)
{
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    assert_int_equal(iosim_config_set(c, "vtd.dma_base_ns=64", &err), 0);
    assert_int_equal(iosim_config_set(c, "vtd.request_bytes=4096", &err), 0);
    assert_int_equal(iosim_config_set(c, "vtd.link_gbps=32", &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(iosim_config_set(c, sets[i], &err), 0);
    dma_pipe_t *p = dma_pipe_new(c, st, &err);
    iosim_config_free(c);
    assert_non_null(p);
    return p;
}

/* One request: a page hit of 10 ns, then one that walks 300 ns. */
static void test_link_bound(void **state)
{
    (void)state;
    uint64_t st[IOSIM_ST_COUNT] = {0};
    const char *sets[] = {"vtd.max_walks=1", "vtd.max_outstanding=0"};
    dma_pipe_t *p = mk(sets, 2, st);
    dma_req_t q;
    dma_pipe_begin(p, 4096, &q);
    assert_int_equal(q.issue, 0);
    assert_true(q.base == 64.0);
    dma_pipe_page(p, &q, 10.0, false);
    dma_pipe_end(p, &q, 4096, 10.0);
    /* link free at 0 + 1024; data landed at 10 + 64 */
    assert_int_equal(dma_pipe_now(p), 1024);
    assert_int_equal(dma_pipe_landed(p), 74);
    assert_int_equal(st[IOSIM_ST_DMA_XLATE_NS], 74);
    assert_int_equal(st[IOSIM_ST_DMA_WIRE_NS], 1024);
    assert_int_equal(st[IOSIM_ST_DMA_TIME_NS], 1024);
    assert_int_equal(st[IOSIM_ST_DMA_OVERLAP_NS], 74);

    /* the second issues at 1024; its walk takes the only engine */
    dma_pipe_begin(p, 4096, &q);
    assert_int_equal(q.issue, 1024);
    dma_pipe_page(p, &q, 300.0, true);
    assert_int_equal(q.slot, 0);
    assert_false(dma_pipe_walk_done(p, 0)); /* busy until 1324 */
    dma_pipe_end(p, &q, 4096, 300.0);
    assert_int_equal(dma_pipe_landed(p), 1024 + 300 + 64);
    assert_int_equal(st[IOSIM_ST_DMA_XLATE_NS], 74 + 364);
    assert_int_equal(st[IOSIM_ST_DMA_WIRE_NS], 2048);
    assert_int_equal(st[IOSIM_ST_DMA_TIME_NS], 2048);
    assert_int_equal(st[IOSIM_ST_DMA_WALK_WAIT_NS], 0);
    /* now = 2048: the walk (ready 1324) is done */
    assert_true(dma_pipe_walk_done(p, 0));
    dma_pipe_free(p);
}

/* Two walks of one request on one engine: the second waits for the
 * first; a redo keeps the engine busy and moves the clock. */
static void test_walk_wait_and_redo(void **state)
{
    (void)state;
    uint64_t st[IOSIM_ST_COUNT] = {0};
    const char *sets[] = {"vtd.max_walks=1", "vtd.max_outstanding=0"};
    dma_pipe_t *p = mk(sets, 2, st);
    dma_req_t q;
    dma_pipe_begin(p, 8192, &q); /* base 128, wire 2048 */
    dma_pipe_page(p, &q, 200.0, true);
    dma_pipe_page(p, &q, 200.0, true); /* starts at 200, ready 400 */
    assert_int_equal(q.ready, 400);
    assert_int_equal(st[IOSIM_ST_DMA_WALK_WAIT_NS], 200);
    dma_pipe_end(p, &q, 8192, 400.0);
    assert_int_equal(dma_pipe_landed(p), 400 + 128);
    assert_int_equal(st[IOSIM_ST_DMA_XLATE_NS], 528);
    /* the link is free at 2048, the engine at 400: a redo of 100 ns
     * starts at 2048, and its data lands base (128) after it */
    dma_pipe_redo_walk(p, 0, 100, 128);
    assert_int_equal(dma_pipe_landed(p), 2048 + 100 + 128);
    assert_int_equal(st[IOSIM_ST_DMA_OVERLAP_NS], 2276);
    assert_int_equal(st[IOSIM_ST_DMA_XLATE_NS], 628);
    dma_pipe_free(p);
}

/* max_outstanding 1: a request waits for the previous one to land even
 * when the link is free earlier. */
static void test_outstanding(void **state)
{
    (void)state;
    uint64_t st[IOSIM_ST_COUNT] = {0};
    const char *sets[] = {"vtd.max_walks=4", "vtd.max_outstanding=1"};
    dma_pipe_t *p = mk(sets, 2, st);
    dma_req_t q;
    dma_pipe_begin(p, 64, &q); /* base 1, wire 16 */
    dma_pipe_page(p, &q, 5000.0, true);
    dma_pipe_end(p, &q, 64, 5000.0);
    assert_int_equal(dma_pipe_now(p), 16);
    assert_int_equal(dma_pipe_landed(p), 5001);
    dma_pipe_begin(p, 64, &q);
    assert_int_equal(q.issue, 5001);
    dma_pipe_page(p, &q, 0.0, false);
    dma_pipe_end(p, &q, 64, 0.0);
    /* a restart counts the clock from the later of landing and link */
    dma_pipe_restart(p);
    dma_pipe_begin(p, 64, &q);
    dma_pipe_page(p, &q, 0.0, false);
    dma_pipe_end(p, &q, 64, 0.0);
    assert_int_equal(st[IOSIM_ST_DMA_OVERLAP_NS],
                     (5017 + 1) - (5001 + 16)); /* issued at 5017, lands +1 */
    dma_pipe_free(p);
}

/* ---- reorder.h ---------------------------------------------------------- */

typedef struct order {
    bool mapped; /* one IOVA's state */
    uint64_t ran[8];
    size_t n;
} order_t;

static bool ready(void *arg, const iosim_rec_t *r)
{
    const order_t *o = arg;
    return r->kind == IOSIM_REC_MAP ? !o->mapped : o->mapped;
}

static int run(void *arg, const iosim_rec_t *r, uint64_t no, iosim_err_t *err)
{
    (void)err;
    order_t *o = arg;
    if (r->kind == IOSIM_REC_MAP)
        o->mapped = true;
    else if (r->kind == IOSIM_REC_UNMAP)
        o->mapped = false;
    o->ran[o->n++] = no;
    return 0;
}

static void test_reorder_same_time(void **state)
{
    (void)state;
    reorder_t q = {0};
    order_t o = {.mapped = true};
    iosim_err_t err = {0};
    const iosim_rec_t map = {.kind = IOSIM_REC_MAP, .t = 5};
    const iosim_rec_t unmap = {.kind = IOSIM_REC_UNMAP, .t = 5};
    const iosim_rec_t later = {.kind = IOSIM_REC_MARK, .t = 6};
    /* the remap (0) came out before the unmap (1) of one timestamp */
    assert_int_equal(reorder_take(&q, &map, 0, ready, run, &o, &err), 0);
    assert_int_equal(o.n, 0);
    assert_int_equal(reorder_take(&q, &unmap, 1, ready, run, &o, &err), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.ran[0], 1);
    assert_int_equal(o.ran[1], 0);
    /* an UNMAP of a dead IOVA waits; a later timestamp releases it */
    o.mapped = false;
    assert_int_equal(reorder_take(&q, &unmap, 2, ready, run, &o, &err), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(reorder_take(&q, &later, 3, ready, run, &o, &err), 0);
    assert_int_equal(o.n, 4);
    assert_int_equal(o.ran[2], 2);
    assert_int_equal(o.ran[3], 3);
    /* held at the end: the flush runs it */
    assert_int_equal(reorder_take(&q, &unmap, 4, ready, run, &o, &err), 0);
    assert_int_equal(o.n, 4);
    assert_int_equal(reorder_flush(&q, run, &o, &err), 0);
    assert_int_equal(o.n, 5);
    assert_int_equal(o.ran[4], 4);
}

/* dma_pipe_one's rounding through the signed conversion is the unsigned
 * one's (x + 0.5, truncated) over its range: ties, values just below
 * them, a double's integer limit, 2^62 - 1 K. */
static void test_round_small(void **state)
{
    (void)state;
    static const double x[] = {0,
                               0.25,
                               0.49999999999999994,
                               0.5,
                               1.5,
                               2.5,
                               196.99999999999997,
                               328.5,
                               1e9 + 0.5,
                               4096e9 + 0.5,
                               4503599627370495.5,
                               9007199254740991.0,
                               4611686018427386880.0};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        assert_int_equal(dma_pipe_round_small(x[i]), (uint64_t)(x[i] + 0.5));
    assert_int_equal(dma_pipe_round_small(2.5), 3);
    assert_int_equal(dma_pipe_round_small(0.49999999999999994), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_bound),
        cmocka_unit_test(test_walk_wait_and_redo),
        cmocka_unit_test(test_outstanding),
        cmocka_unit_test(test_reorder_same_time),
        cmocka_unit_test(test_round_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
