/* test_dev_e1000e.c — the e1000e device model (sim/dev/dev_e1000e.c): the
 * translations it emits for hand-written MAP / UNMAP records, counted by
 * hand from the QEMU 7.2 functions it follows.
 *
 * Per access (dev_access = one request; one IOTLB lookup per 4 KB page it
 * touches, so a 16 B descriptor access is one lookup):
 *   tx (e1000e_start_xmit), per packet:
 *     context descriptor: pci_dma_read 16 B (1) + e1000e_txdesc_writeback
 *       4 B (1) when every descriptor is written back (MSI-X IVAR bit 31)
 *     per data descriptor: pci_dma_read 16 B (1) + pci_dma_map of the
 *       buffer (1 request, one lookup per page) + write-back 4 B (1;
 *       without IVAR bit 31 only the packet's last, RS)
 *   rx (e1000e_write_packet_to_guest), per packet: descriptor read (1),
 *     buffer write (1), descriptor write (1), status/DD write (1) = 4.
 * Rings: with 8 rx descriptors the rx allocation is 8 x 32 B -> 1 page,
 * derived right below the tx ring (0xfffff000): 0xffffe000.  With the
 * default 256 rx descriptors: 2 pages at 0xffffc000.  Every test maps
 * the rings first (no access), so nothing faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#define TXR 0xfffff000ull

typedef struct counts {
    uint64_t requests, lookups, faults;
} counts_t;

/* Runs recs through a sim of the e1000e model plus extra sets. */
static counts_t run(const iosim_rec_t *recs, size_t n, const char *const *extra)
{
    static const char *const base[] = {"dev.model=e1000e",
                                       "sim.window_only=false", NULL};
    iosim_sim_t *s = sim_from_set_lists(base, extra, NULL);
    sim_run(s, recs, n);
    counts_t c = {test_stat(s, "dma.requests"), test_stat(s, "iotlb.lookups"),
                  test_stat(s, "dma.faults")};
    iosim_sim_free(s);
    return c;
}

/* Tx packet of a header map A and a frag map B (cpu 0, back to back: one
 * packet, e1000_tx_map), then a 16 KB map C (another CPU: its own
 * packet), then the tx clean unmaps all three in map order.
 *   A+B: context 2 + A 3 + B 3 = 8 requests, 8 lookups.
 *   C: 16384 / E1000_MAX_PER_TXD 8192 = 2 data descriptors: context 2 +
 *      2 x (read 1 + 8 KB map 1 + write-back 1) = 8 requests; the maps
 *      touch 2 pages each: 10 lookups.
 * Total 16 requests, 18 lookups.  The clean's unmaps emit nothing. */
static size_t tx_trace(iosim_rec_t *r)
{
    size_t n = 0;
    r[n++] = test_map(1, TXR, 4096, 0);        /* tx ring */
    r[n++] = test_map(2, 0xffffc000, 8192, 0); /* rx ring */
    r[n++] = test_map(3, 0x10000, 4096, 0);    /* A */
    r[n++] = test_map(4, 0x20000, 4096, 0);    /* B */
    r[n++] = test_map(5, 0x40000, 16384, 1);   /* C */
    r[n++] = test_unmap(6, 0x10000, 4096, 0);
    r[n++] = test_unmap(7, 0x20000, 4096, 0);
    r[n++] = test_unmap(8, 0x40000, 16384, 0);
    return n;
}

static void test_tx_packets(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    size_t n = tx_trace(r);
    const char *none[] = {NULL};
    counts_t c = run(r, n, none);
    assert_int_equal(c.requests, 16);
    assert_int_equal(c.lookups, 18);
    assert_int_equal(c.faults, 0);
    /* RS only on a packet's last descriptor (no IVAR bit 31): A+B lose
     * the context's and A's write-backs (6), C the context's and its first
     * descriptor's (6 requests, 8 lookups) */
    const char *rs_only[] = {"dev.e1000e.tx_wb_every_desc=false", NULL};
    c = run(r, n, rs_only);
    assert_int_equal(c.requests, 12);
    assert_int_equal(c.lookups, 14);
    /* no context descriptors: 2 requests fewer per packet */
    const char *no_ctx[] = {"dev.e1000e.tx_ctx_desc=false", NULL};
    c = run(r, n, no_ctx);
    assert_int_equal(c.requests, 12);
    assert_int_equal(c.lookups, 14);
}

/* A trace from interface up (rx_ring_full=false) with 8 rx descriptors:
 * the first 7 maps fill the ring (e1000_desc_unused = 7): P1..P7 on cpu
 * 1, no access.  T (cpu 0) is tx: 5 (context 2 + read, buffer,
 * write-back), emitted at the next record.  UNMAP P1 (cpu 1) is the first
 * rx completion: 4.  MAP P8 (cpu 1) is the refill it owes: none.  UNMAP
 * T: none.  MAP T2 (cpu 0): tx, emitted at the end: 5.  Total 14; 13
 * without the separate status write (QEMU before 7.2). */
static size_t rx_trace(iosim_rec_t *r)
{
    size_t n = 0;
    uint64_t t = 1;
    r[n++] = test_map(t++, TXR, 4096, 0);
    r[n++] = test_map(t++, 0xffffe000, 4096, 0); /* rx ring, 8 x 32 B */
    for (uint64_t i = 1; i <= 7; i++)
        r[n++] = test_map(t++, 0x100000 * i, 4096, 1);
    r[n++] = test_map(t++, 0x900000, 4096, 0);   /* T */
    r[n++] = test_unmap(t++, 0x100000, 4096, 1); /* P1 done */
    r[n++] = test_map(t++, 0x800000, 4096, 1);   /* P8 */
    r[n++] = test_unmap(t++, 0x900000, 4096, 0); /* T cleaned */
    r[n++] = test_map(t++, 0xa00000, 4096, 0);   /* T2 */
    return n;
}

static void test_rx_fill_refill(void **state)
{
    (void)state;
    iosim_rec_t r[24];
    size_t n = rx_trace(r);
    const char *extra[] = {"dev.e1000e.rx_ring_size=8",
                           "dev.e1000e.rx_ring_full=false", NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 14);
    assert_int_equal(c.lookups, 14);
    assert_int_equal(c.faults, 0);
    const char *one_write[] = {"dev.e1000e.rx_ring_size=8",
                               "dev.e1000e.rx_ring_full=false",
                               "dev.e1000e.rx_status_write=false", NULL};
    c = run(r, n, one_write);
    assert_int_equal(c.requests, 13);
}

/* A capture of a running interface (rx_ring_full, 7 rx buffers posted
 * before it began).  X (cpu 0) and Y (cpu 1) look like tx: 5 each (X at
 * Y's map, Y at the next record).  UNMAP Y on cpu 0 is a tx clean, and tx
 * cleans go in map order, so the older X was a posted rx buffer.  Its
 * unmap (cpu 1) is an rx completion (its accesses were emitted at its
 * map), so the MAP Z after it on cpu 1 is the refill, and Z's unmap an rx
 * completion: 4.  Total 14 (X taken for tx would make Z a tx packet: 15). */
static void test_posted_before_trace(void **state)
{
    (void)state;
    iosim_rec_t r[16];
    size_t n = 0;
    r[n++] = test_map(1, TXR, 4096, 0);
    r[n++] = test_map(2, 0xffffe000, 4096, 0);
    r[n++] = test_map(3, 0x100000, 4096, 0);   /* X */
    r[n++] = test_map(4, 0x200000, 4096, 1);   /* Y */
    r[n++] = test_unmap(5, 0x200000, 4096, 0); /* Y cleaned */
    r[n++] = test_unmap(6, 0x100000, 4096, 1); /* X: rx completion */
    r[n++] = test_map(7, 0x300000, 4096, 1);   /* Z: refill */
    r[n++] = test_unmap(8, 0x300000, 4096, 1); /* Z: rx completion */
    const char *extra[] = {"dev.e1000e.rx_ring_size=8", NULL};
    counts_t c = run(r, n, extra);
    assert_int_equal(c.requests, 14);
    assert_int_equal(c.lookups, 14);
    assert_int_equal(c.faults, 0);
}

/* A map across a ring's edge has no role: an error naming the model. */
static void test_ring_overlap_error(void **state)
{
    (void)state;
    iosim_rec_t r[2] = {test_map(1, 0xffffe000, 8192, 0)};
    const char *sets[] = {"dev.model=e1000e", "sim.window_only=false", NULL};
    iosim_sim_t *s = sim_from_sets(sets);
    iosim_err_t err = {0};
    assert_int_not_equal(iosim_sim_consume(s, r, 1, &err), 0);
    assert_non_null(strstr(err.msg, "e1000e"));
    iosim_sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_packets),
        cmocka_unit_test(test_rx_fill_refill),
        cmocka_unit_test(test_posted_before_trace),
        cmocka_unit_test(test_ring_overlap_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
