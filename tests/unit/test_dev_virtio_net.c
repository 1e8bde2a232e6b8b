/* test_dev_virtio_net.c — the virtio-net device model
 * (sim/dev/dev_virtio_net.c): IOTLB lookups for hand-written MAP / UNMAP /
 * MARK records, counted by hand from QEMU's functions.
 *
 * Setting: defaults (rx and tx queues of 256, vring_align 64, event_idx,
 * shadow_heads false = QEMU 7.2) unless a test sets them,
 * sim.window_only=false.  Ring layout for
 * 256 entries: desc 4096 B, avail 4 + 512 + 2 B, used at 0x1240: 2 pages,
 * an 8 KB span each, top-down below 4 GiB: rx 0xffffe000, tx 0xffffc000,
 * control (64 entries, 1 page) 0xffffb000.  The first records map the
 * rx and tx rings (the rings made explicit: no access of their own).
 * Every access below lies in one 4 KB page: one lookup each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

static size_t rings(iosim_rec_t *r)
{
    r[0] = test_map(1, 0xffffe000, 8192, 0); /* rx ring */
    r[1] = test_map(2, 0xffffc000, 8192, 0); /* tx ring */
    return 2;
}

/* iotlb.lookups after recs, or -1 if the sim reports an error (its
 * message in why) */
static long run(const iosim_rec_t *recs, size_t n, const char *extra, char *why,
                size_t whylen)
{
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          extra ? extra : "sim.window_only=false", NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_err_t err = {0};
    long v = -1;
    if (iosim_sim_consume(s, recs, n, &err) || iosim_sim_finish(s, &err)) {
        if (why)
            snprintf(why, whylen, "%s", err.msg);
    } else {
        uint64_t l = 0;
        if (!iosim_sim_stat_by_name(s, "iotlb.lookups", &l))
            fail_msg("no counter iotlb.lookups");
        v = (long)l;
    }
    iosim_sim_free(s);
    return v;
}

/* iotlb.lookups after recs under the settings sets (NULL-ended); the
 * sim must not fail */
static uint64_t lookups_of(const char *const *sets, const iosim_rec_t *recs,
                           size_t n)
{
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_err_t err = {0};
    uint64_t l = 0;
    assert_int_equal(iosim_sim_consume(s, recs, n, &err), 0);
    assert_int_equal(iosim_sim_finish(s, &err), 0);
    assert_true(iosim_sim_stat_by_name(s, "iotlb.lookups", &l));
    iosim_sim_free(s);
    return l;
}

/* Rings only: no access. */
static void test_rings_alone(void **state)
{
    (void)state;
    iosim_rec_t r[4];
    size_t n = rings(r);
    assert_int_equal(run(r, n, NULL, NULL, 0), 0);
}

/* One tx packet (a MAP on a CPU with no rx completion: tx), sent at its
 * kick, since the next record (a MARK) is no further tx map.  QEMU 7.2/10:
 *   virtio_net_handle_tx_bh: virtio_queue_set_notification(0) ->
 *     vring_avail_idx (avail idx; shadow := 1)                       1
 *   virtio_net_flush_tx: virtqueue_pop: virtio_queue_empty_rcu sees
 *     shadow 1 != last 0 (no read); virtqueue_get_head (avail ring)  1
 *     no avail_event write (notification off); desc read            1
 *     virtqueue_map_desc: the buffer's one page                      1
 *   virtqueue_push: used elem write, used idx write                  2
 *   virtio_notify: used_event read                                   1
 *   next virtqueue_pop: shadow 1 == last 1: avail idx read, empty    1
 *   virtio_net_tx_bh: virtio_queue_set_notification(1): avail idx
 *     read, avail_event write                                        2
 *   virtio_net_flush_tx: its pop: avail idx read, empty              1
 * = 11 (the captures' "d d c B d d d d d d d"). */
static void test_tx_packet(void **state)
{
    (void)state;
    iosim_rec_t r[8];
    size_t n = rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_mark(11, 0);
    assert_int_equal(run(r, n, NULL, NULL, 0), 11);
    /* two tx maps in a row: one kick, one flush: 1 + 2 x (1 + 1 + 1 +
     * 2 + 1) + 1 + 2 + 1 = 17 (the second pop finds shadow 2 != 1: no
     * read) */
    r[n - 1] = test_map(11, 0x10002000, 4096, 0);
    r[n++] = test_mark(12, 0);
    assert_int_equal(run(r, n, NULL, NULL, 0), 17);
}

/* One rx packet into a buffer posted before the trace: the importer's
 * MAP just below the rings (no role), then the driver's unmap (rx
 * completion: the packet's accesses come first).  QEMU >= 8.2:
 *   virtio_net_has_buffers: virtio_queue_empty: shadow 256 != last 0,
 *     no read; virtqueue_avail_bytes: virtqueue_num_heads uses the
 *     shadow (no read), virtqueue_get_head, desc read                2
 *   virtio_queue_set_notification(0): avail idx read                 1
 *   virtqueue_pop: get_head, desc read, the buffer's page            3
 *   virtqueue_fill (used elem), virtqueue_flush (used idx),
 *     virtio_notify (used_event)                                     3
 * = 9 ("f e f f e B f f f"); QEMU 7.2 (shadow_heads=false) reads avail
 * idx in virtqueue_num_heads too: 10. */
static void test_rx_packet(void **state)
{
    (void)state;
    iosim_rec_t r[8];
    size_t n = rings(r);
    r[n++] = test_map(10, 0xffffa000, 4096, 0);
    r[n++] = test_unmap(11, 0xffffa000, 4096, 1);
    assert_int_equal(run(r, n, "dev.virtio-net.shadow_heads=true", NULL, 0), 9);
    assert_int_equal(run(r, n, NULL, NULL, 0), 10);
    /* an 8 KB buffer (crossing a page): one more page to map: 10 */
    r[2] = test_map(10, 0xffff8000, 8192, 0);
    r[3] = test_unmap(11, 0xffff8000, 8192, 1);
    assert_int_equal(run(r, n, "dev.virtio-net.shadow_heads=true", NULL, 0),
                     10);
}

/* A map across the tx ring's end and the rx ring's start (rings not
 * made explicit yet: the sim itself refuses a map over a live one): no
 * role. */
static void test_ring_overlap_error(void **state)
{
    (void)state;
    iosim_rec_t r[4];
    size_t n = 0;
    r[n++] = test_map(10, 0xffffd000, 8192, 0);
    char why[512] = "";
    assert_int_equal(run(r, n, NULL, why, sizeof why), -1);
    if (!strstr(why, "virtio-net: map of 0xffffd000"))
        fail_msg("unexpected error: %s", why);
}

/* A tx completion (the unmap of a sent tx buffer) costs nothing. */
static void test_tx_completion(void **state)
{
    (void)state;
    iosim_rec_t r[8];
    size_t n = rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_unmap(11, 0x10000000, 4096, 0);
    assert_int_equal(run(r, n, NULL, NULL, 0), 11);
}

/* rx_at=poll (virtio_net.c virtnet_receive: every buffer one poll's
 * virtqueue_get_buf loop detaches was used by the device before the loop
 * began).  Setting: 33 rx completions into buffers posted before the
 * trace (importer MAP just below the rings, then the unmap, on CPU 1),
 * so 33 descriptors are free, more than min(64, 256)/2 = 32: the next
 * three MAPs on CPU 1, on consecutive physical pages, are a refill
 * (try_fill_recv); then the poll that unmaps those three buffers, with
 * each unmap's invalidation between them (another CPU's records and
 * invalidations do not end a poll).  Records are numbered from 0:
 * 2 rings + 66 = 68..70 the refill maps, 71 / 73 / 75 the unmaps (72
 * and 74 the invalidations).  poll: the three buffer pages are written
 * at record 71, before its unmap and invalidation; unmap: each at its
 * own unmap. */
#define BURST_N 76
/* the rings, 33 rx completions of pre-trace buffers, the 3-buffer refill
 * (records 0..70, t = 1, 2, 10..78) */
static size_t rx_refilled(iosim_rec_t *r)
{
    size_t n = rings(r);
    uint64_t t = 10;
    for (uint64_t k = 0; k < 33; k++) {
        uint64_t iova = 0xffffa000 - k * 4096;
        r[n++] = test_map(t++, iova, 4096, 1);
        r[n++] = test_unmap(t++, iova, 4096, 1);
    }
    for (uint64_t k = 0; k < 3; k++)
        r[n++] = test_map(t++, 0x20000000 + k * 4096, 4096, 1);
    return n;
}

static size_t rx_burst(iosim_rec_t *r)
{
    size_t n = rx_refilled(r);
    uint64_t t = 79;
    for (uint64_t k = 0; k < 3; k++) {
        r[n++] = test_unmap(t++, 0x20000000 + k * 4096, 4096, 1);
        if (k < 2) {
            r[n] =
                test_rec(IOSIM_REC_INVAL, t++, 0x20000000 + k * 4096, 4096, 1);
            r[n].desc = IOSIM_DESC_IOTLB;
            n++;
        }
    }
    return n;
}

/* The comma before a translation-log line's IOVA field (label, record,
 * t, dev, pasid, dom, iova, ...), NULL when the line has fewer fields */
static const char *iova_comma(const char *line)
{
    const char *f = line;
    for (int c = 0; c < 6 && f; c++)
        f = strchr(f + 1, ',');
    return f;
}

/* The translation log (--xlate-log CSV, malloc'd) of a virtio-net sim
 * configured by sets, fed recs in batches of batch. */
static char *xlate_log_of(const char *const *sets, const iosim_rec_t *r,
                          size_t n, size_t batch)
{
    iosim_sim_t *s = sim_from_sets(sets);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    assert_non_null(log);
    iosim_err_t err = {0};
    if (iosim_sim_set_xlate_log(s, log, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i += batch)
        if (iosim_sim_consume(s, r + i, n - i < batch ? n - i : batch, &err))
            fail_msg("%s", err.msg);
    if (iosim_sim_finish(s, &err))
        fail_msg("%s", err.msg);
    fclose(log);
    iosim_sim_free(s);
    return buf;
}

static void buffer_records(const iosim_rec_t *r, size_t n, const char *rx_at,
                           size_t batch, long out[3]);

/* record numbers of the translations of the three buffer pages (the
 * translation log's second column), fed `batch` records at a time */
static void burst_records(const char *rx_at, size_t batch, long out[3])
{
    iosim_rec_t r[BURST_N];
    size_t n = rx_burst(r);
    assert_int_equal(n, BURST_N);
    buffer_records(r, n, rx_at, batch, out);
}

static void buffer_records(const iosim_rec_t *r, size_t n, const char *rx_at,
                           size_t batch, long out[3])
{
    char set[64];
    snprintf(set, sizeof set, "dev.virtio-net.rx_at=%s", rx_at ? rx_at : "");
    if (!rx_at) /* the default */
        snprintf(set, sizeof set, "sim.window_only=false");
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false", set,
                          NULL};
    char *buf = xlate_log_of(sets, r, n, batch);
    out[0] = out[1] = out[2] = -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *c = strchr(line, ','); /* label,record,t_ns,dev,pasid,dom,iova */
        if (!c)
            continue;
        long no = strtol(c + 1, NULL, 10);
        const char *f = c;
        for (int k = 0; k < 5 && f; k++)
            f = strchr(f + 1, ',');
        if (!f)
            continue;
        unsigned long long iova = strtoull(f + 1, NULL, 0);
        if (iova >= 0x20000000 && iova < 0x20003000)
            out[(iova - 0x20000000) / 4096] = no;
    }
    free(buf);
}

static void test_rx_poll_burst(void **state)
{
    (void)state;
    long poll[3], unmap[3], one[3];
    burst_records("poll", BURST_N, poll);
    assert_int_equal(poll[0], 71);
    assert_int_equal(poll[1], 71);
    assert_int_equal(poll[2], 71);
    burst_records("unmap", BURST_N, unmap);
    assert_int_equal(unmap[0], 71);
    assert_int_equal(unmap[1], 73);
    assert_int_equal(unmap[2], 75);
    /* the lookahead does not depend on how the records are batched */
    burst_records("poll", 1, one);
    assert_memory_equal(one, poll, sizeof one);
    burst_records("poll", 7, one);
    assert_memory_equal(one, poll, sizeof one);
}

/* rx_at=arrival: the refill of rx_burst (records 68..70), then a tx map
 * on CPU 0 at t=100 (record 71, the guest's last MAP before the poll:
 * tm), two marks on CPU 0 at t=105 and t=150 (72, 73), then the poll:
 * unmaps at t=200 (74), its invalidation (75), t=210 (76) and t=300
 * (77).  The poll's first packet arrived at tm + 1 = 101, each later one
 * as long before its unmap as the first (u - 200 + 101): 111 and 201.  A
 * packet is written at the first record whose time is not before its
 * arrival: 101 -> record 72 (t=105), 111 -> 73 (t=150), 201 -> 76
 * (t=210; at 74, t=200, it has not arrived yet). */
#define ARRIVAL_N 78
static size_t rx_arrival_records(iosim_rec_t *r)
{
    size_t n = rx_refilled(r);
    r[n++] = test_map(100, 0x10000000, 4096, 0);
    r[n++] = test_mark(105, 0);
    r[n++] = test_mark(150, 0);
    r[n++] = test_unmap(200, 0x20000000, 4096, 1);
    r[n] = test_rec(IOSIM_REC_INVAL, 201, 0x20000000, 4096, 1);
    r[n++].desc = IOSIM_DESC_IOTLB;
    r[n++] = test_unmap(210, 0x20001000, 4096, 1);
    r[n++] = test_unmap(300, 0x20002000, 4096, 1);
    return n;
}

static void test_rx_arrival(void **state)
{
    (void)state;
    iosim_rec_t r[ARRIVAL_N];
    size_t n = rx_arrival_records(r);
    assert_int_equal(n, ARRIVAL_N);
    long arr[3], unmap[3], one[3];
    buffer_records(r, n, "arrival", n, arr);
    assert_int_equal(arr[0], 72);
    assert_int_equal(arr[1], 73);
    assert_int_equal(arr[2], 76);
    buffer_records(r, n, "unmap", n, unmap);
    assert_int_equal(unmap[0], 74);
    assert_int_equal(unmap[1], 76);
    assert_int_equal(unmap[2], 77);
    /* the default is arrival; batching does not change it */
    buffer_records(r, n, NULL, 1, one);
    assert_memory_equal(one, arr, sizeof one);
    buffer_records(r, n, "arrival", 5, one);
    assert_memory_equal(one, arr, sizeof one);
}

/* Recorded arrivals (the UNMAP's aux, `iosim-trace import qemu --pcap`:
 * the frame's time in the netdev's dump, traces/FORMAT.md §4): the
 * records of test_rx_arrival with the three rx unmaps (records 74, 76,
 * 77 at t=200, 210, 300) carrying arrivals instead of the estimate's
 * 101, 111, 201.  A packet is written at the first record whose time is
 * not before its arrival, after the packet before it (the device takes
 * buffers in order), at the latest at its unmap:
 *   140, 205, 250 -> record 73 (t=150), 76 (its unmap, t=210; at 75,
 *                    t=201, not yet), 77 (its unmap; 76 is t=210 < 250);
 *   140, 120, 250 -> 73, 73 (arrived before the first, written after it),
 *                    77;
 *   140, 205, 400 -> 73, 76, 77 (after its unmap: at the unmap).
 * A trace without them (aux 0) keeps the estimate (test_rx_arrival). */
static void test_rx_recorded_arrival(void **state)
{
    (void)state;
    static const uint64_t aux[3][3] = {
        {140, 205, 250}, {140, 120, 250}, {140, 205, 400}};
    static const long want[3][3] = {{73, 76, 77}, {73, 73, 77}, {73, 76, 77}};
    static const size_t unmap_at[3] = {74, 76, 77};
    for (size_t c = 0; c < 3; c++) {
        iosim_rec_t r[ARRIVAL_N];
        size_t n = rx_arrival_records(r);
        assert_int_equal(n, ARRIVAL_N);
        for (size_t k = 0; k < 3; k++)
            r[unmap_at[k]].aux = aux[c][k];
        long got[3], one[3];
        buffer_records(r, n, NULL, n, got);
        assert_int_equal(got[0], want[c][0]);
        assert_int_equal(got[1], want[c][1]);
        assert_int_equal(got[2], want[c][2]);
        buffer_records(r, n, "arrival", 1, one);
        assert_memory_equal(one, got, sizeof one);
    }
}

/* Where pages[0..2] (4 KiB page numbers) stand in a translation log buf
 * (freed here): pos[i] is the line, counted among the translations, of
 * the last access to pages[i], -1 if none; with first_after, pos[2] is
 * instead the first access to pages[2] after pages[0] was seen. */
static void page_lines(char *buf, const unsigned long long pages[3],
                       bool first_after, long pos[3])
{
    pos[0] = pos[1] = pos[2] = -1;
    long k = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (!f)
            continue;
        unsigned long long page = strtoull(f + 1, NULL, 0) >> 12;
        if (page == pages[0])
            pos[0] = k;
        else if (page == pages[1])
            pos[1] = k;
        else if (page == pages[2] &&
                 (!first_after || (pos[0] >= 0 && pos[2] < 0)))
            pos[2] = k;
        k++;
    }
    free(buf);
}

/* The tx bottom half against recorded arrivals.  The guest's kick of a
 * tx packet schedules QEMU's bottom half (virtio_net_handle_tx_bh ->
 * replay_bh_schedule_event), which the main loop runs before it polls the
 * backend again (util/aio-posix.c aio_dispatch: aio_bh_poll, then the
 * handlers), so an rx packet that arrives after the kick is written after
 * that flush.  Records of test_rx_arrival with the mark at record 72
 * (t=105) replaced by a second tx map (0x10001000), and the first rx
 * unmap (record 74) carrying the arrival `a`; the kick of both is the
 * mark at 73 unless an arrival between the maps flushes the first.  Log
 * positions of tx buffer 1, the rx buffer, tx buffer 2:
 *   a = 103 (after map 1, before map 2): tx1 < rx < tx2;
 *   a =  99 (before map 1): rx < tx1 < tx2 (written at record 71, before
 *           its post);
 *   a = 120 (after both maps): tx1 < tx2 < rx (one flush at record 73). */
static void kick_order(uint64_t a, long pos[3])
{
    iosim_rec_t r[ARRIVAL_N];
    size_t n = rx_arrival_records(r);
    r[72] = test_map(105, 0x10001000, 4096, 0);
    r[74].aux = a;
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          NULL};
    static const unsigned long long pages[3] = {0x10000, 0x20000, 0x10001};
    page_lines(xlate_log_of(sets, r, n, n), pages, false, pos);
}

static void test_tx_kick_before_arrival(void **state)
{
    (void)state;
    long p[3];
    kick_order(103, p);
    assert_true(p[0] >= 0 && p[0] < p[1] && p[1] < p[2]);
    kick_order(99, p);
    assert_true(p[1] >= 0 && p[1] < p[0] && p[0] < p[2]);
    kick_order(120, p);
    assert_true(p[0] >= 0 && p[0] < p[2] && p[2] < p[1]);
}

/* When the flush runs (issue 20 follow-up): Linux start_xmit kicks right
 * after virtqueue_add_outbuf (no xmit_more), and under caching mode the
 * map's invalidation is submitted inside dma_map, before it returns
 * (intel-iommu __mapping_notify_one -> iommu_flush_iotlb_psi); QEMU's
 * virtio_net_handle_tx_bh schedules the bottom half, which runs before the
 * main loop polls anything else.  So the flush's translations carry the
 * time of the latest guest record before the kick: the packet's map, or
 * the invalidation after it, not the guest's next record (a MARK at 50
 * that names no device, as the captures' MARKs).  By hand (test_tx_packet):
 *   tx map t=10, PSI t=11 (no source-id), MARK t=50: 11 translations at
 *     t=11, all of the NIC (01:00.0), none a fault;
 *   + a second tx map t=12 and its PSI t=13: one flush of 17 at t=13;
 *   no PSI (caching mode off): 11 at t=10, the map itself. */
static void kick_times(bool inval, bool two, bool plain, long *rows, long *at,
                       uint64_t *t_first)
{
    iosim_rec_t r[8];
    size_t n = rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    if (inval) {
        r[n] = test_rec(IOSIM_REC_INVAL, 11, 0x10000000, 4096, 0);
        r[n].desc = IOSIM_DESC_IOTLB;
        r[n++].device = 0; /* a PSI names no source-id */
    }
    if (two) {
        r[n++] = test_map(12, 0x10002000, 4096, 0);
        r[n] = test_rec(IOSIM_REC_INVAL, 13, 0x10002000, 4096, 0);
        r[n].desc = IOSIM_DESC_IOTLB;
        r[n++].device = 0;
    }
    r[n] = test_mark(50, 0);
    r[n++].device = 0; /* a MARK names no device */
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          plain ? "dev.virtio-net.rx_at=unmap" : NULL,
                          "dev.virtio-net.indirect=false", NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    /* label,record,t_ns,device,pasid,domain,iova,result,... */
    *rows = *at = 0;
    *t_first = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long t;
        char dev[16], res[16];
        if (sscanf(line,
                   "%*[^,],%*[^,],%llu,%15[^,],%*[^,],%*[^,],%*[^,],"
                   "%15[^,]",
                   &t, dev, res) != 3)
            continue; /* the header */
        if (!*rows)
            *t_first = t;
        (*rows)++;
        if (t == *t_first && !strcmp(dev, "01:00.0") && strcmp(res, "fault"))
            (*at)++;
    }
    free(buf);
}

static void test_tx_kick_time(void **state)
{
    (void)state;
    long rows, at;
    uint64_t t;
    /* the default (rx_at=arrival, indirect tables), and a configuration
     * that needs no look-ahead of its own (the kick still sees the next
     * record) */
    for (int e = 0; e < 2; e++) {
        kick_times(true, false, e, &rows, &at, &t);
        assert_int_equal(rows, 11);
        assert_int_equal(at, 11);
        assert_int_equal(t, 11);
        kick_times(true, true, e, &rows, &at, &t);
        assert_int_equal(rows, 17);
        assert_int_equal(at, 17);
        assert_int_equal(t, 13);
        kick_times(false, false, e, &rows, &at, &t);
        assert_int_equal(rows, 11);
        assert_int_equal(at, 11);
        assert_int_equal(t, 10);
    }
}

/* libslirp's answer inside a tx element (the MAP's reserved field from
 * `iosim-trace import qemu --pcap`, traces/FORMAT.md §4): the
 * records of test_rx_arrival, the tx map (record 71) carrying "answered
 * at once" (in-sequence data that acknowledges nothing new).  Its kick is
 * the mark at record 72; QEMU's virtio_net_flush_tx pops it (tx buffer
 * 0x10000000), hands it to the backend, which answers into the next rx
 * buffer (0x20000000: virtio_net_receive pops, fills and pushes it) and
 * only then pushes the tx element (used ring, tx page 0xffffd000).  The
 * positions of the translations in the log: tx buffer < rx buffer < the
 * tx push after it.  Without the answer (a word that says none, or no
 * word) the rx packet comes after that push, at its arrival (record 72
 * too, test_rx_arrival).  With a second tx packet in the same kick, whose
 * completion comes first, the answer still goes to the rx buffer. */
static void answer_order(uint16_t word, bool two, long pos[3])
{
    iosim_rec_t r[ARRIVAL_N + 2];
    size_t n = rx_arrival_records(r);
    r[71].reserved = word;
    if (two) {
        /* a second tx packet in the same kick (t=101), completed (t=160)
         * before the poll: its unmap is the first in view, but its buffer
         * is in the tx ring, not an rx one the answer could fill */
        memmove(&r[73], &r[72], (n - 72) * sizeof *r);
        r[72] = test_map(101, 0x10001000, 4096, 0);
        n++;
        memmove(&r[75], &r[74], (n - 74) * sizeof *r);
        r[74] = test_unmap(160, 0x10001000, 4096, 0);
        n++;
    }
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          NULL};
    /* pos: line of the tx buffer, of the rx buffer 0x20000000, of the
     * first tx used-ring access after the tx buffer */
    static const unsigned long long pages[3] = {0x10000, 0x20000, 0xffffd};
    page_lines(xlate_log_of(sets, r, n, n), pages, true, pos);
}

static void test_backend_answer(void **state)
{
    (void)state;
    long pos[3];
    answer_order(IOSIM_SEG_KNOWN | IOSIM_SEG_TCP | 2, false, pos);
    assert_true(pos[0] >= 0 && pos[1] > pos[0] && pos[2] > pos[1]);
    answer_order(IOSIM_SEG_KNOWN | IOSIM_SEG_TCP | 3, false, pos);
    assert_true(pos[0] >= 0 && pos[1] > pos[0] && pos[2] > pos[1]);
    answer_order(IOSIM_SEG_KNOWN | IOSIM_SEG_TCP | 2, true, pos);
    assert_true(pos[0] >= 0 && pos[1] > pos[0] && pos[2] > pos[1]);
    /* no answer: the push first, the rx packet at its arrival */
    static const uint16_t none[] = {0, IOSIM_SEG_KNOWN | IOSIM_SEG_TCP,
                                    IOSIM_SEG_KNOWN};
    for (size_t i = 0; i < 3; i++) {
        answer_order(none[i], false, pos);
        assert_true(pos[0] >= 0 && pos[2] > pos[0] && pos[1] > pos[2]);
    }
}

/* ---- packed rings (dev.virtio-net.ring=packed) ---------------------------
 * Layout (Linux vring_create_virtqueue_packed: three coherent allocations
 * per queue, ring then driver then device event area, queues rx0, tx0,
 * ctrl top-down below 4 GiB; a 256-entry ring is 4,096 B, an event area
 * 4 B: one page each): rx ring 0xfffff000, driver 0xffffe000, device
 * 0xffffd000; tx 0xffffc000 / 0xffffb000 / 0xffffa000; ctrl 0xffff9000 /
 * 8000 / 7000.  The test names each translation by its page: D the
 * queue's descriptor ring, R its driver event area, V its device event
 * area, B a buffer, and checks the sequence against QEMU's functions
 * (hw/virtio/virtio.c; each field load/store one translation):
 *   vring_packed_desc_read_flags       desc[i].flags                  D
 *   vring_packed_desc_read             flags, addr, id, len          DDDD
 *   vring_packed_desc_write            id, len, flags (writes)        DDD
 *   vring_packed_event_read            flags, off_wrap                two
 *   virtio_queue_packed_set_notification(0): event_read (device area),
 *     flags write                                                     VVV
 *   virtio_queue_packed_set_notification(1), EVENT_IDX: event_read,
 *     off_wrap write, flags write                                    VVVV
 *   virtio_queue_packed_empty_rcu: desc[last_avail].flags              D
 *   virtqueue_packed_pop: empty check, desc read, buffer pages   D DDDD B
 *   virtqueue_packed_fill: nothing; virtqueue_packed_flush: desc write
 *     at used_idx                                                     DDD
 *   virtio_packed_should_notify: event_read of the driver area         RR
 * rx packet (virtio_net_receive_rcu): has_buffers = empty D +
 *   virtqueue_packed_get_avail_bytes DDDD (the first entry covers the
 *   packet) + set_notification(0) VVV; pop D DDDD B; flush DDD; notify RR:
 *   "DDDDDVVVDDDDDBDDDRR": 13 D, 3 V, 2 R per packet.
 * tx kick (virtio_net_handle_tx_bh, virtio_net_tx_bh, virtio_net_flush_tx):
 *   set_notification(0) VVV; per packet pop D DDDD B, push DDD, notify RR;
 *   the empty pop D; set_notification(1) VVVV; the second flush's empty
 *   pop D: 8 D and 2 R per packet, 2 D and 7 V per flush. */
static char page_letter(unsigned long long iova, unsigned long long ring)
{
    if (iova >= ring && iova < ring + 4096)
        return 'D';
    if (iova >= ring - 4096 && iova < ring)
        return 'R';
    if (iova >= ring - 8192 && iova < ring - 4096)
        return 'V';
    if (iova >= 0xffff7000ull) /* another queue's ring page */
        return '?';
    if (iova >= 0x10004000ull && iova < 0x10005000ull) /* an indirect table */
        return 'T';
    return 'B';
}

/* The page sequence of a packed sim's translations for recs (letters as
 * above, relative to the queue whose descriptor ring is at ring). */
static void packed_sequence(const iosim_rec_t *r, size_t n,
                            unsigned long long ring, const char *extra,
                            char *out, size_t outlen)
{
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          "dev.virtio-net.ring=packed",
                          extra ? extra : "sim.window_only=false", NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    size_t k = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (!f || !strchr("0123456789", f[1]) || k + 1 >= outlen)
            continue;
        out[k++] = page_letter(strtoull(f + 1, NULL, 0), ring);
    }
    out[k] = '\0';
    free(buf);
}

static size_t packed_rings(iosim_rec_t *r)
{
    /* the importer's explicit MAPs of the six ring pages: no access */
    for (int k = 0; k < 6; k++)
        r[k] = test_map((uint64_t)k + 1, 0xfffff000ull - 4096ull * k, 4096, 0);
    return 6;
}

static size_t count_of(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* One rx packet into the first buffer posted before the trace (the
 * importer's MAP just below the control queue's pages, then the
 * driver's unmap: the rx completion, its accesses first); then one whose
 * buffer crosses a page (two buffer pages). */
static void test_packed_rx_packet(void **state)
{
    (void)state;
    iosim_rec_t r[12];
    size_t n = packed_rings(r);
    r[n++] = test_map(10, 0xffff6000, 4096, 0);
    r[n++] = test_unmap(11, 0xffff6000, 4096, 1);
    char seq[256];
    packed_sequence(r, n, 0xfffff000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "DDDDDVVVDDDDDBDDDRR");
    assert_int_equal(count_of(seq, 'D'), 13);
    assert_int_equal(count_of(seq, 'V'), 3);
    assert_int_equal(count_of(seq, 'R'), 2);
    /* QEMU >= 8.2's shadow index is a split-ring thing: no change */
    packed_sequence(r, n, 0xfffff000, "dev.virtio-net.shadow_heads=true", seq,
                    sizeof seq);
    assert_string_equal(seq, "DDDDDVVVDDDDDBDDDRR");
    r[n - 2] = test_map(10, 0xffff4000, 8192, 0);
    r[n - 1] = test_unmap(11, 0xffff4000, 8192, 1);
    packed_sequence(r, n, 0xfffff000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "DDDDDVVVDDDDDBBDDDRR");
}

/* tx: one packet in one kick, then two packets in one kick (two maps
 * with no other record between them), each sent when the next record (a
 * MARK) shows the guest moved on. */
static void test_packed_tx_packet(void **state)
{
    (void)state;
    iosim_rec_t r[12];
    size_t n = packed_rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_mark(11, 0);
    char seq[256];
    packed_sequence(r, n, 0xffffc000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "VVVDDDDDBDDDRRDVVVVD");
    /* 8 D + 2 R per packet, 2 D + 7 V per flush */
    assert_int_equal(count_of(seq, 'D'), 8 + 2);
    assert_int_equal(count_of(seq, 'V'), 7);
    assert_int_equal(count_of(seq, 'R'), 2);
    r[n - 1] = test_map(11, 0x10002000, 4096, 0);
    r[n++] = test_mark(12, 0);
    packed_sequence(r, n, 0xffffc000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "VVVDDDDDBDDDRRDDDDDBDDDRRDVVVVD");
    assert_int_equal(count_of(seq, 'D'), 2 * 8 + 2);
    assert_int_equal(count_of(seq, 'V'), 7);
    assert_int_equal(count_of(seq, 'R'), 2 * 2);
    /* without EVENT_IDX set_notification(1) writes no off_wrap */
    packed_sequence(r, n, 0xffffc000, "dev.virtio-net.event_idx=false", seq,
                    sizeof seq);
    assert_string_equal(seq, "VVVDDDDDBDDDRRDDDDDBDDDRRDVVVD");
}

/* A trace whose metadata says its capture used a packed ring is replayed
 * packed by default (the sim applies the implied setting) and with
 * ring=auto given (a config file's: the metadata decides), and refused
 * with ring=split given. */
static void test_packed_from_meta(void **state)
{
    (void)state;
    iosim_trace_meta_t meta;
    memset(&meta, 0, sizeof meta);
    assert_int_equal(
        iosim_trace_meta_set_implies(&meta, "dev.virtio-net.ring", "packed"),
        0);
    iosim_rec_t r[12];
    size_t n = packed_rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_mark(11, 0);
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false", NULL,
                          NULL};
    iosim_err_t err = {0};
    for (int k = 0; k < 2; k++) {
        sets[2] = k ? "dev.virtio-net.ring=auto" : NULL;
        iosim_sim_t *s = sim_from_sets_meta(sets, &meta);
        if (iosim_sim_consume(s, r, n, &err) || iosim_sim_finish(s, &err))
            fail_msg("%s", err.msg);
        uint64_t l = 0;
        assert_true(iosim_sim_stat_by_name(s, "iotlb.lookups", &l));
        assert_int_equal(l, 20); /* test_packed_tx_packet's one packet */
        iosim_sim_free(s);
    }
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, "dev.model=virtio-net", &err), 0);
    assert_int_equal(iosim_config_set(c, "dev.virtio-net.ring=split", &err), 0);
    assert_null(iosim_sim_new(c, "t", &meta, &err));
    if (!strstr(err.msg, "capture used a packed virtqueue"))
        fail_msg("unexpected error: %s", err.msg);
    iosim_config_free(c);
}

/* An indirect tx packet on a packed ring.  Linux
 * drivers/virtio/virtio_ring.c virtqueue_add_indirect_packed (from
 * virtqueue_add_packed when virtqueue_use_indirect: total_sg > 1) maps
 * each sg entry in order (vring_map_one_sg), then the table
 * (vring_map_single, total_sg x 16 B), one ring slot; detach_buf_packed
 * unmaps the head's desc_extra (the table: vring_unmap_state_packed,
 * VRING_DESC_F_INDIRECT -> dma_unmap_single), then each table entry
 * (vring_unmap_desc_packed): the split ring's orders.  QEMU 7.2
 * hw/virtio/virtio.c virtqueue_packed_pop: the empty check D
 * (virtio_queue_packed_empty_rcu: flags), the head DDDD
 * (vring_packed_desc_read: flags, addr, id, len); VRING_DESC_F_INDIRECT:
 * address_space_cache_init of the table (no translation), entry 0 TTTT
 * (vring_packed_desc_read from the table cache: four reads), its buffer
 * B (virtqueue_map_desc), virtqueue_packed_read_next_desc(indirect): next
 * 1 < max = desc.len / 16 = 2, entry 1 TTTT, its buffer B; next 2 == max:
 * done, no read (each T one translation of the table's page, entries
 * read from the page's start: the MAP has no offset).  Then
 * virtqueue_packed_flush DDD at used_idx, notify RR
 * (driver area); the kick's set_notification(0) VVV, the empty pop D,
 * set_notification(1) VVVV, the second flush's empty pop D
 * (test_packed_tx_packet).  Records: test_tx_indirect's (buffers
 * 0x10000000, 0x10002000, table 0x10004000 on CPU 0; the completion on
 * CPU 1, table first). */
static void test_packed_tx_indirect(void **state)
{
    (void)state;
    iosim_rec_t r[24];
    static const uint64_t linux_order[3] = {0x10004000, 0x10000000, 0x10002000};
    size_t n = packed_rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_map(11, 0x10002000, 4096, 0);
    r[n++] = test_map(12, 0x10004000, 4096, 0);
    r[n++] = test_mark(13, 0);
    for (uint64_t k = 0; k < 3; k++)
        r[n++] = test_unmap(14 + k, linux_order[k], 4096, 1);
    char seq[256];
    packed_sequence(r, n, 0xffffc000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "VVVDDDDDTTTTBTTTTBDDDRRDVVVVD");
    /* unmapped in the order they were posted: three packets of one
     * buffer, each DDDDDB DDD RR */
    static const uint64_t posted_order[3] = {0x10000000, 0x10002000,
                                             0x10004000};
    for (uint64_t j = 0; j < 3; j++)
        r[n - 3 + j] = test_unmap(14 + j, posted_order[j], 4096, 1);
    packed_sequence(r, n, 0xffffc000, NULL, seq, sizeof seq);
    assert_string_equal(seq, "VVVDDDDDBDDDRRDDDDDBDDDRRDDDDDTDDDRRDVVVVD");
    /* the feature off: the same three packets */
    for (uint64_t j = 0; j < 3; j++)
        r[n - 3 + j] = test_unmap(14 + j, linux_order[j], 4096, 1);
    packed_sequence(r, n, 0xffffc000, "dev.virtio-net.indirect=false", seq,
                    sizeof seq);
    assert_string_equal(seq, "VVVDDDDDBDDDRRDDDDDBDDDRRDDDDDTDDDRRDVVVVD");
}

/* Mergeable rx buffers on a packed ring: rx_queue_size=4 (each of the
 * three areas one page: descriptor ring D 0xfffff000, driver area R
 * 0xffffe000, device area V 0xffffd000), the 4 buffers virtnet_open
 * posted, 1536 B each (test_rx_mergeable), the first three made explicit
 * by the importer (0xffff6000 down), then their unmaps on CPU 1, the
 * first with its frame's length, 3061 B: 12 + 3061 = 3073 > 2 x 1536,
 * three buffers.  QEMU 7.2 hw/net/virtio-net.c virtio_net_receive_rcu:
 * virtio_net_has_buffers: the empty check D, virtqueue_avail_bytes ->
 * virtqueue_packed_get_avail_bytes: vring_packed_desc_read of the entries
 * from last_avail_idx on (one descriptor each: no VRING_DESC_F_NEXT, so
 * virtqueue_packed_read_next_desc reads nothing) until 3 x 1536 >= 3073:
 * 12 D; set_notification(0) VVV; three pops, D DDDD each, the first
 * buffer's page B (the others' IOVAs are known only at their unmaps: B
 * each there); virtqueue_fill nothing; virtqueue_packed_flush(3): three
 * elements, DDD each; virtio_notify RR.  Linux receive_mergeable unmaps
 * the two further buffers right after the first (virtqueue_get_buf_ctx ->
 * detach_buf_packed). */
static void test_packed_rx_mergeable(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    size_t n = packed_rings(r);
    for (uint64_t k = 0; k < 3; k++) /* the importer's pre-trace MAPs */
        r[n++] = test_map(10 + k, 0xffff6000 - k * 4096, 4096, 1);
    for (uint64_t k = 0; k < 3; k++) {
        r[n] = test_unmap(13 + k, 0xffff6000 - k * 4096, 4096, 1);
        r[n++].reserved = k ? 0 : 3061;
    }
    const char *q4 = "dev.virtio-net.rx_queue_size=4";
    char seq[256];
    packed_sequence(r, n, 0xfffff000, q4, seq, sizeof seq);
    assert_string_equal(seq, "DDDDDDDDDDDDDVVVDDDDDBDDDDDDDDDDDDDDDDDDDRRBB");
    assert_int_equal(strlen(seq), 45);
    /* without mergeable buffers each buffer is a packet of its own
     * (test_packed_rx_packet's 19 each) */
    const char *sets[] = {
        "dev.model=virtio-net",           "sim.window_only=false",
        "dev.virtio-net.ring=packed",     q4,
        "dev.virtio-net.mrg_rxbuf=false", NULL};
    assert_int_equal(lookups_of(sets, r, n), 3 * 19);
    /* 3060 B: 12 + 3060 = 3072 = 2 x 1536, two buffers: D, 8 D, VVV, two
     * pops, DDD x 2, RR, B at the second's unmap = 32; the third buffer a
     * packet of its own (no length): 19 */
    r[n - 3].reserved = 3060;
    packed_sequence(r, n, 0xfffff000, q4, seq, sizeof seq);
    assert_string_equal(seq, "DDDDDDDDDVVVDDDDDBDDDDDDDDDDDRRB"
                             "DDDDDVVVDDDDDBDDDRR");
}

/* A MAP the importer joined to a frame the guest sent (reserved
 * IOSIM_SEG_KNOWN, `import qemu --pcap`: QEMU's first translation of its
 * page followed a tx descriptor read) is a tx buffer even where the
 * refill rules would take it for an rx buffer.  rx_queue_size=4 (refill
 * above 4 / 2 = 2 free; rings as test_rx_mergeable), the three buffers
 * the importer made explicit completed on CPU 1 (3 free), then a MAP on
 * CPU 1 whose page frag is not known yet (frag_next: the refill), then a
 * MARK.  Unjoined it is posted to the rx ring and never written; joined
 * it is a tx packet popped at the kick (its page translated once). */
static size_t joined_page_translations(uint16_t reserved)
{
    iosim_rec_t r[16];
    size_t n = 0;
    uint64_t t = 1;
    r[n++] = test_map(t++, 0xfffff000, 4096, 0); /* rx ring */
    r[n++] = test_map(t++, 0xffffc000, 8192, 0); /* tx ring */
    for (uint64_t k = 0; k < 3; k++)
        r[n++] = test_map(t++, 0xffffa000 - k * 4096, 4096, 1);
    for (uint64_t k = 0; k < 3; k++)
        r[n++] = test_unmap(t++, 0xffffa000 - k * 4096, 4096, 1);
    r[n] = test_map(t++, 0x30000000, 4096, 1);
    r[n++].reserved = reserved;
    r[n++] = test_mark(t++, 1);
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          "dev.virtio-net.rx_queue_size=4", NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    size_t c = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (f && strchr("0123456789", f[1]) &&
            (strtoull(f + 1, NULL, 0) & ~0xfffull) == 0x30000000ull)
            c++;
    }
    free(buf);
    return c;
}

static void test_joined_map_is_tx(void **state)
{
    (void)state;
    assert_int_equal(joined_page_translations(0), 0);
    assert_int_equal(joined_page_translations(IOSIM_SEG_KNOWN), 1);
    assert_int_equal(joined_page_translations(IOSIM_SEG_KNOWN | IOSIM_SEG_TCP),
                     1);
}

/* Indirect tx packets (dev.virtio-net.indirect, the default).  Linux 6.1
 * drivers/net/virtio_net.c xmit_skb with NETIF_F_SG (a tap with its
 * offloads): the header pushed into the linear part, then the frags, so a
 * data segment is total_sg = 1 + frags > 1 entries and
 * drivers/virtio/virtio_ring.c virtqueue_add_split goes indirect
 * (virtqueue_use_indirect): each entry mapped in order
 * (vring_map_one_sg), then the table (vring_map_single, total_sg x 16 B);
 * detach_buf_split unmaps the table first, then each entry in table order
 * (vring_unmap_one_split_indirect).  QEMU 7.2 hw/virtio/virtio.c
 * virtqueue_split_pop: desc read (the head); VRING_DESC_F_INDIRECT:
 * address_space_cache_init of the table (no translation), entry 0 read
 * (vring_split_desc_read), its buffer mapped (virtqueue_map_desc), then
 * virtqueue_split_read_next_desc: entry 1 read, its buffer mapped; no read
 * after the last (no VRING_DESC_F_NEXT).  Per packet: avail ring, desc,
 * 2 x entries, used elem, used idx, used_event = 5 + 2n; a kick adds
 * set_notification(0) 1, the empty pop 1, set_notification(1) 2, its
 * flush's empty pop 1 = 5 (test_tx_packet: 5 + 6 = 11 for one buffer).
 * Buffers at 0x10000000 (linear), 0x10002000 (frag), table 0x10004000,
 * all mapped on CPU 0; the tx completion on CPU 1 with an invalidation
 * between the unmaps. */
static size_t tx_indirect_recs(iosim_rec_t *r, const uint64_t *unmap_order)
{
    size_t n = rings(r);
    r[n++] = test_map(10, 0x10000000, 4096, 0);
    r[n++] = test_map(11, 0x10002000, 4096, 0);
    r[n++] = test_map(12, 0x10004000, 4096, 0);
    r[n++] = test_mark(13, 0);
    for (uint64_t k = 0; k < 3; k++) {
        r[n++] = test_unmap(14 + 2 * k, unmap_order[k], 4096, 1);
        r[n] = test_rec(IOSIM_REC_INVAL, 15 + 2 * k, unmap_order[k], 4096, 1);
        r[n++].desc = IOSIM_DESC_IOTLB;
    }
    return n;
}

/* the IOVA pages the sim translated (the translation log's seventh
 * column), in order, into pages (at most max); how many */
static size_t xlate_pages(const iosim_rec_t *r, size_t n, uint64_t *pages,
                          size_t max)
{
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    size_t k = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (!f || k == max || (f[1] < '0' || f[1] > '9'))
            continue;
        pages[k++] = strtoull(f + 1, NULL, 0) & ~0xfffull;
    }
    free(buf);
    return k;
}

static void test_tx_indirect(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    static const uint64_t linux_order[3] = {0x10004000, 0x10000000, 0x10002000};
    size_t n = tx_indirect_recs(r, linux_order);
    /* one packet of 2 entries: 5 + (5 + 4) = 14; the entries' unmaps are
     * its completion, not rx completions of pre-trace buffers */
    assert_int_equal(run(r, n, NULL, NULL, 0), 14);
    /* the order: desc, table, linear, table, frag, then the used ring */
    uint64_t pg[32];
    size_t np = xlate_pages(r, n, pg, 32);
    size_t d = 0;
    while (d < np && pg[d] != 0xffffc000)
        d++;
    assert_true(d + 6 <= np);
    static const uint64_t want[6] = {0xffffc000, 0x10004000, 0x10000000,
                                     0x10004000, 0x10002000, 0xffffd000};
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(pg[d + k], want[k]);
    /* unmapped in the order they were posted: three packets of one buffer
     * (what Linux does for packets that are not indirect): 5 + 3 x 6 */
    static const uint64_t posted_order[3] = {0x10000000, 0x10002000,
                                             0x10004000};
    n = tx_indirect_recs(r, posted_order);
    assert_int_equal(run(r, n, NULL, NULL, 0), 23);
    /* the feature off, or the table's unmap not held back: 23 too */
    n = tx_indirect_recs(r, linux_order);
    assert_int_equal(run(r, n, "dev.virtio-net.indirect=false", NULL, 0), 23);
    assert_int_equal(run(r, n, "dev.virtio-net.lookahead=1", NULL, 0), 23);
    /* another CPU's record between the table's unmap and its entries'
     * (a MARK on CPU 0: nothing posted, no access) is skipped: 14 */
    n = tx_indirect_recs(r, linux_order);       /* 2 rings, 3 maps, a mark, */
    memmove(&r[9], &r[8], (n - 8) * sizeof *r); /* the table's unmap and */
    r[8] = test_mark(15, 0);                    /* INVAL, then the entries' */
    n++;
    assert_int_equal(run(r, n, NULL, NULL, 0), 14);
}

/* How far the model looks ahead (dev.virtio-net.lookahead): the farthest
 * table a shipped capture holds has its last entry's unmap 325 records
 * after the table's map (redis-strict-tap-packed-qemu,
 * docs/dev-virtio-net.md "How far the model looks ahead").  The records
 * of test_tx_indirect with 319 MARKs of another CPU between the kick and
 * the completion put the last entry's unmap exactly there: the default
 * window (1,024) holds it (one packet of 2 entries, 14 lookups); a window
 * of 256, the old default, does not (three packets of one buffer, 23). */
static void test_tx_indirect_far(void **state)
{
    (void)state;
    enum { FILL = 319 };
    iosim_rec_t r[16 + FILL];
    static const uint64_t linux_order[3] = {0x10004000, 0x10000000, 0x10002000};
    size_t n = tx_indirect_recs(r, linux_order); /* the completion at 6.. */
    memmove(&r[6 + FILL], &r[6], (n - 6) * sizeof *r);
    for (size_t k = 0; k < FILL; k++)
        r[6 + k] = test_mark(13, 2);
    n += FILL;
    assert_int_equal(r[2 + 2].iova, 0x10004000);     /* the table's map */
    assert_int_equal(r[n - 1 - 1].iova, 0x10002000); /* the last unmap */
    assert_int_equal(n - 2 - (2 + 2), 325);
    assert_int_equal(run(r, n, NULL, NULL, 0), 14);
    /* the window's edge: w records after the one served, so 325 holds the
     * last unmap and 324 does not */
    assert_int_equal(run(r, n, "dev.virtio-net.lookahead=325", NULL, 0), 14);
    assert_int_equal(run(r, n, "dev.virtio-net.lookahead=324", NULL, 0), 23);
    assert_int_equal(run(r, n, "dev.virtio-net.lookahead=256", NULL, 0), 23);
}

/* A packet of one buffer (a pure ACK: total_sg 1, not indirect) and one of
 * three entries (linear part, two frags) in one kick: 5 + 6 + (5 + 6) =
 * 22; the table's unmap names the first of the three buffers after the
 * ACK. */
static void test_tx_indirect_after_single(void **state)
{
    (void)state;
    iosim_rec_t r[24];
    size_t n = rings(r);
    r[n++] = test_map(10, 0x10008000, 4096, 0); /* ACK */
    r[n++] = test_map(11, 0x10000000, 4096, 0); /* linear */
    r[n++] = test_map(12, 0x10002000, 8192, 0); /* frag over 2 pages */
    r[n++] = test_map(13, 0x10005000, 4096, 0); /* frag */
    r[n++] = test_map(14, 0x10007000, 4096, 0); /* table */
    r[n++] = test_mark(15, 0);
    static const uint64_t un[5] = {0x10008000, 0x10007000, 0x10000000,
                                   0x10002000, 0x10005000};
    static const uint64_t sz[5] = {4096, 4096, 4096, 8192, 4096};
    for (size_t k = 0; k < 5; k++)
        r[n++] = test_unmap(16 + k, un[k], sz[k], 1);
    /* the 8 KB frag is two pages: one more translation: 23 */
    assert_int_equal(run(r, n, NULL, NULL, 0), 23);
    /* the entries' unmaps out of their order: no table, five packets of
     * one buffer (one of two pages): 5 + 5 x 6 + 1 = 36 */
    r[n - 2] = test_unmap(19, 0x10005000, 4096, 1);
    r[n - 1] = test_unmap(20, 0x10002000, 8192, 1);
    assert_int_equal(run(r, n, NULL, NULL, 0), 36);
}

/* Mergeable rx buffers (dev.virtio-net.mrg_rxbuf, the default): a frame
 * longer than its buffer continues in the next ones.  The frame lengths
 * are the UNMAPs' reserved field (`import qemu --pcap-tap`).  Setting:
 * rx_queue_size=4 (its ring one page, 0xfffff000; tx 0xffffc000, control
 * 0xffffb000), QEMU 7.2 (shadow_heads false), CPU 1.  Buffer lengths by
 * hand from Linux 6.1 drivers/net/virtio_net.c: virtnet_open posted 4
 * buffers at average 0: get_mergeable_buf_len = ALIGN(12 + clamp(0, 1518,
 * 4084), 64) = 1536 each (offsets 0..6144 of a fresh 32 KB frag).
 *   P1 (frame 3061: 12 + 3061 = 3073 B > 2 x 1536: 3 pre-trace buffers,
 *   the importer's MAPs, then their unmaps; QEMU hw/net/virtio-net.c
 *   virtio_net_receive_rcu): virtio_net_has_buffers: empty check (shadow
 *   4 != 0: no read), virtqueue_split_get_avail_bytes per head until
 *   1536 x 3 >= 3073: num_heads (avail idx), avail ring, desc: 3 x 3 = 9;
 *   set_notification(0): avail idx 1; 3 pops: avail ring, desc, buffer
 *   (the 2nd and 3rd buffers' pages translated at their unmaps, when
 *   their IOVAs are known): 9; 3 used elems, used idx, used_event: 5
 *   = 24.  receive_mergeable: average := 3061 (the first value).
 *   P2 (no length: one buffer): has_buffers 3 (shadow 4 != 3), set_notif
 *   1, pop 3, fill / flush / notify 3 = 10.  4 free > min(64, 4) / 2:
 *   refill of 4 (try_fill_recv): ALIGN(12 + 3061, 64) = 3136 each from a
 *   new frag at physical 0x20000000: [0, 3136) one page, [3136, 6272)
 *   pages 0-1, [6272, 9408) pages 1-2, [9408, 12544) pages 2-3 (the
 *   MAPs: 4 / 8 / 8 / 8 KB).
 *   P3 (frame 6260: 6272 = 2 x 3136: 2 buffers): empty check reads avail
 *   idx (shadow 4 == last 4) 1; 2 x 3 = 6; 1; pops 3 + 4 (an 8 KB
 *   buffer: 2 pages); 2 used elems, used idx, used_event: 4 = 19.
 * Total 53.  mrg_rxbuf=false (a packet per buffer): P1 3 x 10, P2 10,
 * P3 11 + 11 (its 2nd buffer: 3 + 1 + 4 + 3) = 62. */
static size_t mrg_recs(iosim_rec_t *r, uint16_t p1, uint16_t p3)
{
    size_t n = 0;
    uint64_t t = 1;
    r[n++] = test_map(t++, 0xfffff000, 4096, 0); /* rx ring */
    r[n++] = test_map(t++, 0xffffc000, 8192, 0); /* tx ring */
    for (uint64_t k = 0; k < 3; k++) /* the importer's pre-trace MAPs */
        r[n++] = test_map(t++, 0xffffa000 - k * 4096, 4096, 1);
    for (uint64_t k = 0; k < 3; k++) {
        r[n] = test_unmap(t++, 0xffffa000 - k * 4096, 4096, 1);
        r[n++].reserved = k ? 0 : p1;
    }
    r[n++] = test_map(t++, 0xffff7000, 4096, 1);
    r[n++] = test_unmap(t++, 0xffff7000, 4096, 1);
    static const uint64_t sz[4] = {4096, 8192, 8192, 8192};
    for (uint64_t k = 0; k < 4; k++) { /* the refill */
        r[n] = test_map(t++, 0x30000000 + k * 0x2000, sz[k], 1);
        r[n++].aux = 0x20000000 + (k ? (k - 1) * 4096 : 0);
    }
    r[n] = test_unmap(t++, 0x30000000, 4096, 1);
    r[n++].reserved = p3;
    r[n++] = test_unmap(t++, 0x30002000, 8192, 1);
    return n;
}

static void test_rx_mergeable(void **state)
{
    (void)state;
    iosim_rec_t r[24];
    size_t n = mrg_recs(r, 3061, 6260);
    const char *q4 = "dev.virtio-net.rx_queue_size=4";
    assert_int_equal(run(r, n, q4, NULL, 0), 53);
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false", q4,
                          "dev.virtio-net.mrg_rxbuf=false", NULL};
    assert_int_equal(lookups_of(sets, r, n), 62);
    /* P1 of 3060 B (the header counted: 3072 = 2 x 1536): two buffers,
     * has_buffers 6, set_notif 1, pops 6, elems / idx / event 4 = 17;
     * the third pre-trace buffer a packet of its own, 10; P2 10.  The
     * average 3060: ALIGN(3072, 64) = 3072 per refill buffer (the same
     * pages), so P3's 6272 B take three (> 2 x 3072): empty check 1,
     * has_buffers 9, set_notif 1, pops 3 + 4 + 4, elems / idx / event 5
     * = 27 (the third's unmap does not come).  17 + 10 + 10 + 27 = 64. */
    n = mrg_recs(r, 3060, 6260);
    assert_int_equal(run(r, n, q4, NULL, 0), 64);
}

/* A ring of more than one page: rx_queue_size=1024 (QEMU's rx_queue_size
 * property), tx 256.  Layout by hand (Linux include/uapi/linux/
 * virtio_ring.h vring_size, align 64): desc 16 x 1024 = 0x4000, avail
 * 4 + 2 x 1024 + 2 B at 0x4000, used at ALIGN(0x4806, 64) = 0x4840
 * (flags, idx, then elems of 8 B at 0x4844 + 8 i), end 0x4844 + 0x2000 +
 * 2 = 26,694 B: 7 pages, an IOVA span of 8 (iommu_dma_alloc_iova rounds
 * to a power of two, size-aligned): rx 0xffff8000, desc on pages
 * 0xffff8000..0xffffb000, avail and used from 0xffffc000; tx (6,726 B, 2
 * pages) 0xffff6000, control 0xffff5000.  249 rx packets into buffers
 * posted before the trace (the importer's MAPs, descending below the
 * control ring), QEMU 7.2: per packet 2 desc reads (heads 0..248: page
 * 0xffff8000), the buffer, and 7 avail/used fields; elem 247 at 0x4ffc
 * straddles 0xffffd000 and QEMU 7.2 translates only its first page
 * (address_space_write_cached_slow, dev_virtio_net.c q_fill), elem 248
 * at 0x5004 lies on 0xffffd000: translations 0xffff8000 2 x 249 = 498,
 * 0xffffc000 7 x 249 - 1 = 1,742, 0xffffd000 1, 0xffffe000 none. */
static void test_rx_ring_1024(void **state)
{
    (void)state;
    enum { NPKT = 249 };
    iosim_rec_t *r = calloc(2 * NPKT + 2, sizeof *r);
    assert_non_null(r);
    size_t n = 0;
    uint64_t t = 1;
    r[n++] = test_map(t++, 0xffff8000, 7 * 4096, 0); /* rx ring, 7 pages */
    r[n++] = test_map(t++, 0xffff6000, 8192, 0);     /* tx ring */
    for (uint64_t k = 0; k < NPKT; k++) {
        uint64_t b = 0xffff4000 - k * 4096;
        r[n++] = test_map(t++, b, 4096, 0);
        r[n++] = test_unmap(t++, b, 4096, 1);
    }
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          "dev.virtio-net.rx_queue_size=1024", NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    long pages[8] = {0}, other = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (!f)
            continue;
        unsigned long long a = strtoull(f + 1, NULL, 0) & ~0xfffull;
        if (a >= 0xffff8000 && a < 0x100000000)
            pages[(a - 0xffff8000) / 4096]++;
        else
            other++;
    }
    free(buf);
    free(r);
    assert_int_equal(pages[0], 2 * NPKT);
    assert_int_equal(pages[1] + pages[2] + pages[3], 0);
    assert_int_equal(pages[4], 7 * NPKT - 1);
    assert_int_equal(pages[5], 1);
    assert_int_equal(pages[6] + pages[7], 0);
    assert_int_equal(other, NPKT); /* each buffer's page */
}

/* A run of maps on the poll's CPU that holds the refill and transmits
 * (refill_split): rx ring of 8 (refill above 8 / 2 = 4 free), all 8
 * pre-trace buffers completed on CPU 1, then on CPU 1 two tx maps and the
 * 8 refill maps (or the refill first), then a MARK.  try_fill_recv maps
 * until the ring is full with nothing of its CPU in between, so the
 * refill is the first or the last 8 maps of the run: the block whose
 * buffers follow one another in their page frag (physical pages 0x1000000,
 * 0x1000000, 0x1001000, ...: two buffers a page), the transmits' pages
 * are elsewhere.  Roles seen in the translation log: a tx buffer is
 * popped at the kick (its page translated), a refill buffer is never
 * written here (no packet arrives). */
static void run_roles(bool refill_first, bool translated[10])
{
    iosim_rec_t r[40];
    size_t n = 0; /* (the rings of 8 lie elsewhere: not made explicit) */
    uint64_t t = 10;
    for (uint64_t k = 0; k < 8; k++) /* IOVAs the trace never mapped */
        r[n++] = test_unmap(t++, 0x30000000 + k * 4096, 4096, 1);
    uint64_t iova[10];
    for (uint64_t k = 0; k < 10; k++) {
        bool tx = refill_first ? k >= 8 : k < 2;
        uint64_t rk = refill_first ? k : k - 2; /* position in the frag */
        iova[k] = 0x20000000 + k * 4096;
        r[n] = test_map(t++, iova[k], 4096, 1);
        r[n].aux = tx ? 0x5000000 + k * 0x3000 : 0x1000000 + rk / 2 * 4096;
        n++;
    }
    r[n++] = test_mark(t++, 1);
    assert_true(n <= 40);
    const char *sets[] = {"dev.model=virtio-net", "sim.window_only=false",
                          "dev.virtio-net.rx_queue_size=8", NULL};
    char *buf = xlate_log_of(sets, r, n, n);
    memset(translated, 0, 10 * sizeof *translated);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        const char *f = iova_comma(line);
        if (!f)
            continue;
        unsigned long long a = strtoull(f + 1, NULL, 0);
        for (int k = 0; k < 10; k++)
            if (a == iova[k])
                translated[k] = true;
    }
    free(buf);
}

static void test_refill_split(void **state)
{
    (void)state;
    bool tr[10];
    run_roles(false, tr); /* tx, tx, then the refill */
    for (int k = 0; k < 10; k++)
        assert_int_equal(tr[k], k < 2);
    run_roles(true, tr); /* the refill, then tx, tx */
    for (int k = 0; k < 10; k++)
        assert_int_equal(tr[k], k >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rings_alone),
        cmocka_unit_test(test_tx_packet),
        cmocka_unit_test(test_rx_packet),
        cmocka_unit_test(test_ring_overlap_error),
        cmocka_unit_test(test_tx_completion),
        cmocka_unit_test(test_rx_poll_burst),
        cmocka_unit_test(test_rx_arrival),
        cmocka_unit_test(test_rx_recorded_arrival),
        cmocka_unit_test(test_tx_kick_before_arrival),
        cmocka_unit_test(test_tx_kick_time),
        cmocka_unit_test(test_backend_answer),
        cmocka_unit_test(test_packed_rx_packet),
        cmocka_unit_test(test_packed_tx_packet),
        cmocka_unit_test(test_packed_from_meta),
        cmocka_unit_test(test_packed_tx_indirect),
        cmocka_unit_test(test_packed_rx_mergeable),
        cmocka_unit_test(test_joined_map_is_tx),
        cmocka_unit_test(test_tx_indirect),
        cmocka_unit_test(test_tx_indirect_far),
        cmocka_unit_test(test_tx_indirect_after_single),
        cmocka_unit_test(test_rx_mergeable),
        cmocka_unit_test(test_refill_split),
        cmocka_unit_test(test_rx_ring_1024),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
