/* test_gen_nic_cpu.c — `gen nic --unmap-ns` (sim/trace/gen_nic_emit.c): a
 * poll's records form its cpu's stream, each UNMAP taking unmap_ns of cpu
 * time, merged by time with the device's records.
 *
 * Concepts: two flows on two cpus, each with its own queue (no
 * --queue-per-cpu), MTU 4096 at 100 Gb/s, so a packet slot is
 * 4096 * 8 / 100 = 327.68 ns and the flows alternate: flow 0 at slots
 * 0, 2, 4, ..., flow 1 at 1, 3, 5, ...  4-page descriptors, a poll after
 * every 4 packets of a queue (--napi-batch 4), no ACKs: a poll releases
 * 4 pages, i.e. 4 UNMAPs.  With unmap_ns = 400 > one slot, the unmaps of
 * one poll are 400 ns apart and the other flow's packet (one slot after
 * the poll) lands between the first and the second of them.
 * Checked against that derivation, on the trace itself:
 *   - time order, and a replay against a live-mapping table (MAP of an
 *     unmapped page, UNMAP and DMA of a mapped one): no fault;
 *   - the UNMAPs of one poll (a run on one cpu with no MAP between) are
 *     exactly unmap_ns apart;
 *   - some DMA record of the other cpu lies between two UNMAPs of one
 *     poll (with unmap_ns = 0 none can: all of a poll's records share
 *     its instant and no record of another cpu comes between);
 *   - the same packets, maps and unmaps are emitted as without the
 *     option (only times and order change).
 * Assumptions: /tmp is writable (mkdtemp scratch directory).
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

#define PFNS (1u << 20) /* IOVA pages below 4 GiB */
#define UNMAP_NS 400

typedef struct cpu_run {
    size_t maps, unmaps, dmas, requests;
    size_t poll_gaps;       /* consecutive same-poll UNMAP pairs */
    size_t poll_gaps_exact; /* ... exactly UNMAP_NS apart */
    size_t interleaved;     /* ... with another cpu's DMA between */
} cpu_run_t;

static void two_queues(gen_nic_params_t *p, uint64_t unmap_ns)
{
    gen_nic_defaults(p);
    p->flows = 2;
    p->cpus = 2;
    p->ring = 16;
    p->ppd = 4;
    p->mtu = 4096;
    p->rate_gbps = 100;
    p->ack_every = 0; /* rx pages only: a poll's records are its unmaps */
    p->napi_batch = 4;
    p->packets = 400;
    p->unmap_ns = unmap_ns;
}

static cpu_run_t run_nic(const gen_nic_params_t *p, const char *name)
{
    iosim_rec_t *r;
    size_t n = gen_nic_records(p, name, &r, NULL);
    cpu_run_t c;
    memset(&c, 0, sizeof c);
    uint8_t *live = calloc(PFNS, 1);
    assert_non_null(live);
    /* per cpu: index of its last UNMAP in the current run of UNMAPs (a
     * MAP or a DMA of the same cpu ends a poll's run), and whether a DMA
     * of the other cpu came since */
    long last_unmap[2] = {-1, -1};
    bool other_dma[2] = {false, false}, ended = false;
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_true(r[i].t >= r[i - 1].t);
        uint64_t pfn = r[i].iova >> 12;
        unsigned cpu = r[i].cpu;
        switch (r[i].kind) {
        case IOSIM_REC_MARK:
            c.requests += r[i].flags == IOSIM_MARK_REQUEST;
            if (r[i].flags == IOSIM_MARK_END)
                ended = true; /* teardown unmaps are not a poll's */
            break;
        case IOSIM_REC_MAP:
            assert_int_equal(live[pfn], 0);
            live[pfn] = 1;
            c.maps++;
            last_unmap[cpu] = -1;
            break;
        case IOSIM_REC_UNMAP:
            assert_int_equal(live[pfn], 1);
            live[pfn] = 0;
            c.unmaps++;
            if (last_unmap[cpu] >= 0 && !ended) {
                c.poll_gaps++;
                c.poll_gaps_exact += r[i].t - r[last_unmap[cpu]].t == UNMAP_NS;
                c.interleaved += other_dma[cpu];
            }
            last_unmap[cpu] = (long)i;
            other_dma[cpu] = false;
            break;
        case IOSIM_REC_DMA:
            assert_int_equal(live[pfn], 1);
            c.dmas++;
            assert_true(cpu < 2);
            other_dma[1 - cpu] = true;
            last_unmap[cpu] = -1;
            break;
        default:
            fail_msg("unexpected record kind %u", r[i].kind);
        }
    }
    for (size_t i = 0; i < PFNS; i++)
        assert_int_equal(live[i], 0); /* teardown unmapped everything */
    free(live);
    free(r);
    return c;
}

/* unmap_ns = 400: every poll's 4 unmaps are 400 ns apart (3 gaps a
 * poll), and the other flow's packet, one slot (327.68 ns) after the
 * poll, falls into the first gap of every poll. */
static void test_unmaps_take_cpu_time(void **state)
{
    (void)state;
    gen_nic_params_t p;
    two_queues(&p, UNMAP_NS);
    cpu_run_t c = run_nic(&p, "cpu.zst");
    assert_int_equal(c.requests, 400);
    /* 200 packets a queue, a poll every 4: 50 polls of 4 unmaps each */
    assert_true(c.poll_gaps >= 50 * 3);
    assert_int_equal(c.poll_gaps_exact, c.poll_gaps);
    assert_true(c.interleaved >= 50);
}

/* Without cpu time a poll's unmaps share its instant and nothing of the
 * other cpu comes between them; the records are the same in number. */
static void test_zero_keeps_polls_atomic(void **state)
{
    (void)state;
    gen_nic_params_t p;
    two_queues(&p, 0);
    cpu_run_t z = run_nic(&p, "zero.zst");
    assert_int_equal(z.interleaved, 0);
    two_queues(&p, UNMAP_NS);
    cpu_run_t c = run_nic(&p, "cpu2.zst");
    assert_int_equal(c.maps, z.maps);
    assert_int_equal(c.unmaps, z.unmaps);
    assert_int_equal(c.dmas, z.dmas);
    assert_int_equal(c.requests, z.requests);
}

/* A cpu slower than the packets (an unmap per page at 10 us, a page
 * every 655 ns per queue) cannot post descriptors in time: the device
 * forces its stream out, and the trace must still be ordered and
 * replay without a fault. */
static void test_slow_cpu_still_consistent(void **state)
{
    (void)state;
    gen_nic_params_t p;
    two_queues(&p, 10000);
    cpu_run_t c = run_nic(&p, "slow.zst");
    assert_int_equal(c.requests, 400);
    assert_true(c.unmaps == c.maps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmaps_take_cpu_time),
        cmocka_unit_test(test_zero_keeps_polls_atomic),
        cmocka_unit_test(test_slow_cpu_still_consistent),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
