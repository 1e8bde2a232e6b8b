/* test_epoch.c — the time series of the counters (sim/system/epoch.c).
 *
 * One hand-written trace, device 01:00.0 in domain 6, strict policy, no
 * synthesized accesses, epochs of 10 ns from the first record (t = 100):
 *   t=100  MAP   0x10000 4 KB         epoch 0 [0, 10)
 *   t=104  DMA   0x10000 4 KB write   epoch 0
 *   t=112  UNMAP 0x10000 4 KB         epoch 1 [10, 20)
 *                                     epoch 2 [20, 30): nothing
 *   t=135  MARK  request              epoch 3 [30, 37]: the last record
 *   t=137  MARK  request                ends it
 * Expected rows, by hand from that timeline: epoch 0 counts 2 records
 * (1 map, 1 DMA: one IOTLB miss, the first access), epoch 1 one unmap,
 * epoch 2 zeros (the time axis is regular), epoch 3 two requests with
 * t_end = 37.  A measurement window (MARK begin/end with
 * sim.window_only) must not change the series; the device-time column is
 * the slower of the epoch's two stage times, as the summary defines it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "system/services.h"

#define DEV 0x0100
#define DID 6

static iosim_rec_t rec(uint8_t kind, uint64_t t, uint32_t flags)
{
    iosim_rec_t r = {.kind = kind,
                     .t = t,
                     .iova = 0x10000,
                     .size = 4096,
                     .device = DEV,
                     .domain = DID,
                     .flags = flags};
    if (kind == IOSIM_REC_MAP) {
        r.aux = 0x4000000; /* phys */
        r.flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    }
    return r;
}

/* The rows of one run, parsed: the header's names and a value matrix. */
#define MAX_ROWS 16
#define MAX_COLS 128
typedef struct table {
    char *text;
    size_t ncols, nrows;
    char *name[MAX_COLS];
    uint64_t v[MAX_ROWS][MAX_COLS];
} table_t;

static void parse(table_t *t)
{
    char *save = NULL;
    char *line = strtok_r(t->text, "\n", &save);
    assert_non_null(line);
    char *s2 = NULL;
    for (char *f = strtok_r(line, ",", &s2); f; f = strtok_r(NULL, ",", &s2)) {
        assert_true(t->ncols < MAX_COLS);
        t->name[t->ncols++] = f;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_true(t->nrows < MAX_ROWS);
        size_t c = 0;
        for (char *f = strtok_r(line, ",", &s2); f;
             f = strtok_r(NULL, ",", &s2), c++)
            t->v[t->nrows][c] = c == 0 ? 0 : strtoull(f, NULL, 10);
        assert_int_equal(c, t->ncols);
        t->nrows++;
    }
}

static uint64_t col(const table_t *t, size_t row, const char *name)
{
    assert_true(row < t->nrows);
    for (size_t c = 0; c < t->ncols; c++)
        if (!strcmp(t->name[c], name))
            return t->v[row][c];
    fail_msg("no column %s", name);
    return 0;
}

/* Runs recs through a strict sim with 10 ns epochs; returns the CSV. */
static char *run(const iosim_rec_t *recs, size_t n, const char *window)
{
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    const char *sets[] = {"os.policy=strict", "dev.model=none", window};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(iosim_config_set(c, sets[i], &err), 0);
    iosim_sim_t *s = iosim_sim_new(c, "t", NULL, &err);
    if (!s)
        fail_msg("%s", err.msg);
    iosim_config_free(c);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    iosim_epoch_csv_header(out);
    assert_int_equal(iosim_sim_set_epochs(s, 10, out, &err), 0);
    if (iosim_sim_consume(s, recs, n, &err) || iosim_sim_finish(s, &err))
        fail_msg("%s", err.msg);
    /* too late once records have been seen */
    assert_int_equal(iosim_sim_set_epochs(s, 10, out, &err), -1);
    iosim_sim_free(s);
    fclose(out);
    return buf;
}

static void test_rows_by_hand(void **state)
{
    (void)state;
    const iosim_rec_t recs[] = {
        rec(IOSIM_REC_MAP, 100, 0), rec(IOSIM_REC_DMA, 104, IOSIM_DMA_WRITE),
        rec(IOSIM_REC_UNMAP, 112, 0), rec(IOSIM_REC_MARK, 135, 0),
        rec(IOSIM_REC_MARK, 137, 0)};
    table_t t = {.text = run(recs, 5, "sim.window_only=false")};
    parse(&t);
    assert_int_equal(t.nrows, 4);
    const uint64_t start[4] = {0, 10, 20, 30}, end[4] = {10, 20, 30, 37};
    const uint64_t records[4] = {2, 1, 0, 2}, maps[4] = {1, 0, 0, 0},
                   unmaps[4] = {0, 1, 0, 0}, dmas[4] = {1, 0, 0, 0},
                   misses[4] = {1, 0, 0, 0}, requests[4] = {0, 0, 0, 2};
    for (size_t e = 0; e < 4; e++) {
        assert_int_equal(col(&t, e, "epoch"), e);
        assert_int_equal(col(&t, e, "t_start_ns"), start[e]);
        assert_int_equal(col(&t, e, "t_end_ns"), end[e]);
        assert_int_equal(col(&t, e, "trace.duration_ns"), end[e] - start[e]);
        assert_int_equal(col(&t, e, "trace.records"), records[e]);
        assert_int_equal(col(&t, e, "trace.map"), maps[e]);
        assert_int_equal(col(&t, e, "trace.unmap"), unmaps[e]);
        assert_int_equal(col(&t, e, "dma.requests"), dmas[e]);
        assert_int_equal(col(&t, e, "iotlb.misses"), misses[e]);
        assert_int_equal(col(&t, e, "trace.requests"), requests[e]);
        uint64_t xlate = col(&t, e, "dma.xlate_time_ns");
        uint64_t wire = col(&t, e, "dma.link_time_ns");
        assert_int_equal(col(&t, e, "dma.device_time_ns"),
                         xlate > wire ? xlate : wire);
    }
    /* the one DMA request took time; the others none */
    assert_true(col(&t, 0, "dma.device_time_ns") > 0);
    assert_true(col(&t, 0, "dma.overlapped_time_ns") > 0);
    assert_int_equal(col(&t, 2, "dma.overlapped_time_ns"), 0);
    /* a gauge: the peak of live 4 KB mappings is 1 from epoch 0 on */
    for (size_t e = 0; e < 4; e++)
        assert_int_equal(col(&t, e, "pt.mappings_peak"), 1);
    free(t.text);
}

static void test_window_does_not_change_the_series(void **state)
{
    (void)state;
    /* the same trace inside BENCH marks: counters restart at the begin
     * mark (t=101) and freeze at the end mark (t=113) for the report, but
     * the series covers every record either way */
    const iosim_rec_t recs[] = {rec(IOSIM_REC_MAP, 100, 0),
                                rec(IOSIM_REC_MARK, 101, IOSIM_MARK_BEGIN),
                                rec(IOSIM_REC_DMA, 104, IOSIM_DMA_WRITE),
                                rec(IOSIM_REC_UNMAP, 112, 0),
                                rec(IOSIM_REC_MARK, 113, IOSIM_MARK_END),
                                rec(IOSIM_REC_MARK, 135, 0),
                                rec(IOSIM_REC_MARK, 137, 0)};
    char *on = run(recs, 7, "sim.window_only=true");
    char *off = run(recs, 7, "sim.window_only=false");
    assert_string_equal(on, off);
    table_t t = {.text = on};
    parse(&t);
    assert_int_equal(t.nrows, 4);
    assert_int_equal(col(&t, 0, "trace.records"), 3); /* map, begin, DMA */
    assert_int_equal(col(&t, 0, "trace.mark"), 1);
    assert_int_equal(col(&t, 1, "trace.records"), 2); /* unmap, end */
    assert_int_equal(col(&t, 3, "trace.records"), 2);
    free(on);
    free(off);
}

static void test_bad_settings(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    iosim_sim_t *s = iosim_sim_new(c, "t", NULL, &err);
    assert_non_null(s);
    assert_int_equal(iosim_sim_set_epochs(s, 0, stdout, &err), -1);
    assert_non_null(strstr(err.msg, "> 0"));
    assert_int_equal(iosim_sim_set_epochs(s, 10, NULL, &err), -1);
    iosim_sim_free(s);
    iosim_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_by_hand),
        cmocka_unit_test(test_window_does_not_change_the_series),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
