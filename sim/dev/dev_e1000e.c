/* dev_e1000e.c — the `e1000e` device model: the Intel 82574 as QEMU 7.2
 * emulates it (hw/net/e1000e_core.c), driven by the Linux 6.1 e1000e
 * driver's maps and unmaps (drivers/net/ethernet/intel/e1000e/netdev.c).
 * Each access below is one translation QEMU makes through the vIOMMU: a
 * pci_dma_read / pci_dma_write (include/sysemu/dma.h dma_memory_rw ->
 * softmmu/physmem.c flatview_read / flatview_write: one
 * address_space_translate per page the access touches) or a pci_dma_map
 * (address_space_map + flatview_extend_translation: one translation per
 * page of the mapped range).
 *
 * Concepts:
 *   - Rings.  Linux e1000e_open allocates the tx descriptor ring first
 *     (e1000e_setup_tx_resources: tx_ring_size x 16 B, ALIGN 4 KiB), then
 *     the rx ring (e1000e_setup_rx_resources: rx_ring_size x 32 B, the
 *     packet-split descriptor size, ALIGN 4 KiB), both with
 *     dma_alloc_coherent (e1000_alloc_ring_dma).  dma-iommu gives a PCI
 *     device 32-bit IOVAs first (iommu_dma_alloc_iova), the size rounded
 *     up to a power of two and aligned to it, top-down (iova.c
 *     __alloc_and_insert_iova_range): the tx ring lands at 4 GiB - its
 *     size, the rx ring at the next aligned slot below it (0xfffff000 and
 *     0xffffc000 with 256 descriptors each).  The device reads and writes
 *     descriptors of 16 B (legacy tx, extended rx: Linux sets
 *     RFCTL.EXTEN in e1000_setup_rctl; RDLEN = rx_ring_size x 16 in
 *     e1000_configure_rx), so only the first half of the rx allocation is
 *     touched.
 *   - Tx (QEMU e1000e_start_xmit, run inside the guest's TDT write, which
 *     e1000_xmit_frame -> e1000_tx_queue makes after mapping the packet):
 *     per descriptor one pci_dma_read of 16 B; a data descriptor then
 *     maps its buffer (e1000e_process_tx_desc ->
 *     net_tx_pkt_add_raw_fragment -> pci_dma_map: one translation per
 *     page); then e1000e_txdesc_writeback writes the 4 B `upper` dword
 *     (offset 12) when the descriptor has RS or IVAR.TX_INT_EVERY_WB is
 *     set (Linux e1000_configure_msix sets IVAR bit 31: "Cause Tx
 *     interrupts on every write back"; otherwise RS only on a packet's
 *     last descriptor: adapter->txd_cmd in e1000_configure_tx).  A packet
 *     is an optional context descriptor (e1000_tx_csum for
 *     CHECKSUM_PARTIAL, e1000_tso for GSO) and one data descriptor per
 *     E1000_MAX_PER_TXD bytes of each DMA map (e1000_tx_map: the linear
 *     head with dma_map_single, each frag with skb_frag_dma_map).
 *   - Rx (QEMU e1000e_receive_iov -> e1000e_write_packet_to_guest), per
 *     descriptor: pci_dma_read of the descriptor (16 B), the packet
 *     written to the buffer (e1000e_write_to_rx_buffers: pci_dma_write,
 *     one per iovec piece; the 4 B FCS write is 0 B because Linux strips
 *     the CRC, RCTL.SECRC in e1000_setup_rctl), the descriptor written
 *     back without DD (16 B) and then its status dword with DD (4 B at
 *     offset 8; e1000e_pci_dma_write_rx_desc, QEMU 7.2 "set RX desc
 *     status with DD flag in a separate operation").  Linux's legacy rx
 *     path at MTU 1500 (e1000_alloc_rx_buffers, rx_buffer_len 1522 <=
 *     2048-byte descriptor buffers) maps one skb per descriptor, so one
 *     packet = one descriptor = one map.
 *   - Roles from maps and unmaps.  A map of (part of) a ring allocation
 *     is the ring's own mapping (no access).  Linux refills the rx ring
 *     in e1000_clean_rx_irq right after unmapping the completed buffers,
 *     on the same CPU (NAPI poll): a map on a CPU that owes refills (an
 *     rx completion unmapped there, not yet refilled) is an rx buffer;
 *     every other map is a tx buffer, read right after the driver's tail
 *     write: consecutive tx maps of one CPU are one packet (e1000_tx_map
 *     maps a packet's buffers back to back), emitted at the next record.
 *     An unmap of an rx buffer is its completion: the device consumed the
 *     rx ring in order, so its accesses are emitted just before the
 *     unmap.  An unmap of a tx buffer is e1000_clean_tx_irq's: no access.
 *   - Buffers posted before the trace began (dev.e1000e.rx_ring_full:
 *     rx_ring_size - 1 of them, e1000_desc_unused) are completed before
 *     any refill (ring order).  An unmap of a buffer the trace never
 *     mapped is one of them (accesses emitted if the sim has it live).  A
 *     QEMU-merged capture instead maps each of them at its first
 *     translation (import_qemu.c), which the model cannot tell from a tx
 *     map: it emits tx accesses there and fixes the role at the unmap:
 *     tx buffers are unmapped in the order they were mapped (one tx
 *     queue, e1000_clean_tx_irq walks the ring in order), so a tx-looking
 *     buffer older than an unmapped tx buffer was an rx one; and an unmap
 *     on a CPU whose unmaps so far were mostly rx completions is one
 *     (MSI-X: e1000_request_msix gives rx and tx their own vectors,
 *     cleaned on the CPU each is routed to).
 * Assumptions: one e1000e queue pair (the 82574 in Linux: one rx, one
 *   tx ring), MSI-X, MTU 1500 (legacy rx buffers, one descriptor per
 *   packet), every tx packet with a context descriptor (TCP/UDP with
 *   checksum offload: dev.e1000e.tx_ctx_desc); both rings' descriptor
 *   indexes start at 0 when the trace begins (only matters for rings of
 *   more than one page); a whole tx buffer is read and a whole rx buffer
 *   written (a short packet in a page-crossing buffer touches fewer
 *   pages).
 * Not modeled: rx packet split / jumbo (rx_ps_pages, e1000_alloc_jumbo_
 *   rx_buffers), packets over one rx descriptor, rx copybreak (no DMA
 *   effect: the buffer is unmapped and remapped either way), allocation
 *   failures in the refill, legacy/MSI interrupts where one CPU cleans
 *   both rings (the per-CPU role evidence then only decides by majority),
 *   a second tx packet mapped back to back on the same CPU with no record
 *   between (merged into one packet: one context descriptor fewer),
 *   descriptor prefetch (QEMU reads one descriptor at a time).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "config/config.h"
#include "dev/dev.h"

/* e1000e (dev_e1000e.c) */
struct dev_e1000e_params {
    uint32_t rx_ring_size;   /* rx descriptors                          */
    uint32_t tx_ring_size;   /* tx descriptors                          */
    uint64_t tx_ring_iova;   /* IOVA of the tx ring; 0 = derived        */
    uint64_t rx_ring_iova;   /* IOVA of the rx ring; 0 = derived        */
    uint64_t ring_top;       /* derived ring IOVAs end here (top-down)  */
    uint32_t tx_max_per_txd; /* bytes of a map per tx data descriptor   */
    bool rx_ring_full;       /* trace begins with the rx ring posted    */
    bool tx_ctx_desc;        /* a context descriptor per tx packet      */
    bool tx_wb_every_desc;   /* every tx descriptor written back        */
    bool rx_status_write;    /* rx status (DD) written separately       */
};

#define OFF(field) offsetof(struct dev_e1000e_params, field)

// clang-format off
static const iosim_param_t e1000e_rows[] = {
    {"dev.e1000e.rx_ring_size", IOSIM_P_U32, OFF(rx_ring_size),
     "256", 8, 4096, NULL,
     "e1000e: rx descriptors (ethtool -G rx)",
     "Linux e1000e param.c / e1000.h E1000_DEFAULT_RXD 256 (e1000_sw_init "
     "rx_ring_count)"},
    {"dev.e1000e.tx_ring_size", IOSIM_P_U32, OFF(tx_ring_size),
     "256", 8, 4096, NULL,
     "e1000e: tx descriptors (ethtool -G tx)",
     "Linux e1000e param.c / e1000.h E1000_DEFAULT_TXD 256 (e1000_sw_init "
     "tx_ring_count)"},
    {"dev.e1000e.tx_ring_iova", IOSIM_P_U64, OFF(tx_ring_iova),
     "0", 0, 281474976710656.0, NULL,
     "e1000e: IOVA of the tx descriptor ring; 0 = derived: the first "
     "allocation below dev.e1000e.ring_top (tx_ring_size x 16 B, rounded "
     "to a power-of-two number of pages, aligned to it)",
     "Linux e1000e_open -> e1000e_setup_tx_resources first; dma-iommu.c "
     "iommu_dma_alloc_iova (roundup_pow_of_two), iova.c "
     "__alloc_and_insert_iova_range (top-down, size-aligned): 0xfffff000, "
     "as in redis-strict-e1000e-qemu"},
    {"dev.e1000e.rx_ring_iova", IOSIM_P_U64, OFF(rx_ring_iova),
     "0", 0, 281474976710656.0, NULL,
     "e1000e: IOVA of the rx descriptor ring; 0 = derived: the next "
     "aligned allocation below the tx ring (rx_ring_size x 32 B)",
     "Linux e1000e_open -> e1000e_setup_rx_resources after tx (desc_len = "
     "sizeof(union e1000_rx_desc_packet_split)); same allocator rule: "
     "0xffffc000 (8 KiB aligned below 0xfffff000), as observed in "
     "redis-strict-e1000e-qemu"},
    {"dev.e1000e.ring_top", IOSIM_P_U64, OFF(ring_top),
     "4G", 4096, 281474976710656.0, NULL,
     "e1000e: end of the IOVA space the derived ring IOVAs are "
     "allocated from, top-down",
     "Linux drivers/iommu/dma-iommu.c iommu_dma_alloc_iova: a PCI device "
     "tries DMA_BIT_MASK(32) first; the domain is empty before "
     "e1000e_open (UNVERIFIED: no other map of the device before it)"},
    {"dev.e1000e.rx_ring_full", IOSIM_P_BOOL, OFF(rx_ring_full),
     "true", 0, 0, NULL,
     "e1000e: the trace begins with rx_ring_size - 1 rx buffers posted "
     "(a capture of a running interface); false: before the interface "
     "came up (the first rx_ring_size - 1 unowed maps fill the ring)",
     "Linux e1000_configure -> alloc_rx_buf(e1000_desc_unused) at open, "
     "refilled in e1000_clean_rx_irq; the shipped captures start with "
     "the interface up (traces/README.md)"},
    {"dev.e1000e.tx_ctx_desc", IOSIM_P_BOOL, OFF(tx_ctx_desc),
     "true", 0, 0, NULL,
     "e1000e: each tx packet starts with a context descriptor (checksum "
     "offload or TSO)",
     "Linux e1000_xmit_frame -> e1000_tso / e1000_tx_csum (every "
     "CHECKSUM_PARTIAL skb: TCP and UDP with NETIF_F_HW_CSUM); QEMU "
     "e1000e_process_tx_desc reads it (no buffer)"},
    {"dev.e1000e.tx_wb_every_desc", IOSIM_P_BOOL,
     OFF(tx_wb_every_desc), "true", 0, 0, NULL,
     "e1000e: the device writes back every tx descriptor (false: only a "
     "packet's last, which has RS)",
     "Linux e1000_configure_msix: ivar |= BIT(31) (Tx interrupts on "
     "every write back; MSI-X); QEMU e1000e_txdesc_writeback "
     "E1000_IVAR_TX_INT_EVERY_WB"},
    {"dev.e1000e.tx_max_per_txd", IOSIM_P_U32, OFF(tx_max_per_txd),
     "8192", 512, 65536, NULL,
     "e1000e: bytes of one DMA map per tx data descriptor",
     "Linux e1000e e1000.h E1000_MAX_PER_TXD 8192 (e1000_tx_map)"},
    {"dev.e1000e.rx_status_write", IOSIM_P_BOOL,
     OFF(rx_status_write), "true", 0, 0, NULL,
     "e1000e: the rx descriptor's status (DD) is written in a second "
     "access after the descriptor (QEMU >= 7.2; false: one write)",
     "QEMU hw/net/e1000e_core.c e1000e_pci_dma_write_rx_desc (Ding Hui, "
     "2022, in 7.2)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

enum { ROLE_NONE, ROLE_TX, ROLE_RX, ROLE_RX_LATE, ROLE_DEAD };
#define E1K_DESC 16u     /* tx legacy / rx extended descriptor bytes  */
#define E1K_RX_ALLOC 32u /* rx ring allocation per descriptor (PS)   */
#define E1K_CPUS 256u    /* iosim_rec_t.cpu is 8 bits                 */

typedef struct buf {
    uint64_t iova, size, seq;
    iosim_rec_t map; /* the MAP record (device, domain, pasid)        */
    uint8_t role;
} buf_t;

typedef struct e1k {
    iosim_sim_t *sim;
    const struct dev_e1000e_params *p;
    uint64_t tx_base, tx_bytes, rx_base, rx_alloc; /* ring allocations */
    uint32_t tx_idx, rx_idx;                       /* next descriptor  */
    /* live buffers: open addressing on iova (ROLE_DEAD = tombstone)   */
    buf_t *tab;
    size_t cap, used, filled;
    uint64_t seq;
    /* tx buffers in map order (lazy: entries checked against tab)     */
    struct fifo_ent {
        uint64_t iova, seq;
    } * fifo;
    size_t fifo_head, fifo_len, fifo_cap;
    /* the tx packet being mapped: its maps, not yet read by the device */
    iosim_rec_t *pend;
    size_t npend, pend_cap;
    uint8_t pend_cpu;
    /* refills owed per CPU, initial fill, rx buffers posted before the
     * trace and not yet completed, per-CPU evidence of the clean kind  */
    uint32_t owed[E1K_CPUS];
    uint64_t fill, pre;
    uint64_t rx_ev[E1K_CPUS], tx_ev[E1K_CPUS];
    iosim_rec_t last; /* for accesses emitted at finish               */
} e1k_t;

/* smallest power-of-two multiple of 4 KiB holding bytes */
static uint64_t pow2_pages(uint64_t bytes)
{
    uint64_t n = 4096;
    while (n < bytes)
        n <<= 1;
    return n;
}

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static buf_t *tab_find(e1k_t *e, uint64_t iova)
{
    for (size_t i = hash64(iova) & (e->cap - 1);; i = (i + 1) & (e->cap - 1)) {
        buf_t *b = &e->tab[i];
        if (b->role == ROLE_NONE)
            return NULL;
        if (b->role != ROLE_DEAD && b->iova == iova)
            return b;
    }
}

static int tab_grow(e1k_t *e)
{
    size_t ncap = e->cap ? e->cap * 2 : 1024;
    buf_t *old = e->tab, *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return -1;
    size_t ocap = e->cap;
    e->tab = nt;
    e->cap = ncap;
    e->filled = e->used;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].role == ROLE_NONE || old[i].role == ROLE_DEAD)
            continue;
        size_t j = hash64(old[i].iova) & (ncap - 1);
        while (nt[j].role != ROLE_NONE)
            j = (j + 1) & (ncap - 1);
        nt[j] = old[i];
    }
    free(old);
    return 0;
}

static buf_t *tab_add(e1k_t *e, const iosim_rec_t *r, uint8_t role)
{
    if ((e->filled + 1) * 2 > e->cap && tab_grow(e) < 0)
        return NULL;
    size_t i = hash64(r->iova) & (e->cap - 1);
    while (e->tab[i].role != ROLE_NONE && e->tab[i].role != ROLE_DEAD)
        i = (i + 1) & (e->cap - 1);
    if (e->tab[i].role == ROLE_NONE)
        e->filled++;
    e->used++;
    e->tab[i] = (buf_t){.iova = r->iova,
                        .size = r->size,
                        .seq = ++e->seq,
                        .map = *r,
                        .role = role};
    return &e->tab[i];
}

static void tab_del(e1k_t *e, buf_t *b)
{
    b->role = ROLE_DEAD;
    e->used--;
}

static int fifo_push(e1k_t *e, uint64_t iova, uint64_t seq)
{
    if (e->fifo_head + e->fifo_len == e->fifo_cap) {
        if (e->fifo_head > e->fifo_cap / 2) {
            memmove(e->fifo, e->fifo + e->fifo_head,
                    e->fifo_len * sizeof *e->fifo);
            e->fifo_head = 0;
        } else if (vec_reserve(&e->fifo, &e->fifo_cap, e->fifo_cap + 1, 256)) {
            return -1;
        }
    }
    e->fifo[e->fifo_head + e->fifo_len++] = (struct fifo_ent){iova, seq};
    return 0;
}

/* the live tx buffer a FIFO entry names, or NULL if it is gone */
static buf_t *fifo_buf(e1k_t *e, const struct fifo_ent *f)
{
    buf_t *b = tab_find(e, f->iova);
    return b && b->seq == f->seq && b->role == ROLE_TX ? b : NULL;
}

static void *e1k_create(iosim_sim_t *s, iosim_err_t *err)
{
    e1k_t *e = calloc(1, sizeof *e);
    if (!e)
        return iosim_err_set(err, "out of memory"), NULL;
    const iosim_config_t *cfg = sim_config(s);
    e->sim = s;
    e->p = iosim_plugin_params(cfg, e1000e_rows);
    uint64_t top = e->p->ring_top;
    e->tx_bytes = ((uint64_t)e->p->tx_ring_size * E1K_DESC + 4095) & ~4095ull;
    e->rx_alloc =
        ((uint64_t)e->p->rx_ring_size * E1K_RX_ALLOC + 4095) & ~4095ull;
    uint64_t tx_a = pow2_pages(e->tx_bytes), rx_a = pow2_pages(e->rx_alloc);
    e->tx_base = e->p->tx_ring_iova;
    if (!e->tx_base) {
        if (top < tx_a)
            return free(e),
                   iosim_err_set(err, "dev.e1000e.ring_top: below "
                                      "the tx ring size"),
                   NULL;
        e->tx_base = (top - tx_a) & ~(tx_a - 1);
    }
    e->rx_base = e->p->rx_ring_iova;
    if (!e->rx_base) {
        if (e->tx_base < rx_a)
            return free(e),
                   iosim_err_set(err, "e1000e: no room for the rx "
                                      "ring below the tx ring"),
                   NULL;
        e->rx_base = (e->tx_base - rx_a) & ~(rx_a - 1);
    }
    if (e->rx_base < e->tx_base + e->tx_bytes &&
        e->tx_base < e->rx_base + e->rx_alloc) {
        iosim_err_set(err,
                      "e1000e: the rx ring (0x%llx) overlaps the tx "
                      "ring (0x%llx)",
                      (unsigned long long)e->rx_base,
                      (unsigned long long)e->tx_base);
        free(e);
        return NULL;
    }
    uint64_t posted = e->p->rx_ring_size - 1; /* e1000_desc_unused */
    if (e->p->rx_ring_full)
        e->pre = posted;
    else
        e->fill = posted;
    if (tab_grow(e) < 0)
        return free(e), iosim_err_set(err, "out of memory"), NULL;
    return e;
}

static void e1k_destroy(void *state)
{
    e1k_t *e = state;
    free(e->tab);
    free(e->fifo);
    free(e->pend);
    free(e);
}

/* 0: outside both rings, 1: inside one, -1: partly inside */
static int in_ring(const e1k_t *e, uint64_t iova, uint64_t size)
{
    const uint64_t base[2] = {e->tx_base, e->rx_base};
    const uint64_t len[2] = {e->tx_bytes, e->rx_alloc};
    uint64_t end = iova + (size ? size : 1);
    for (int i = 0; i < 2; i++) {
        if (end <= base[i] || iova >= base[i] + len[i])
            continue;
        return iova >= base[i] && end <= base[i] + len[i] ? 1 : -1;
    }
    return 0;
}

static uint64_t tx_desc(e1k_t *e)
{
    uint64_t d = e->tx_base + (uint64_t)e->tx_idx * E1K_DESC;
    e->tx_idx = (e->tx_idx + 1) % e->p->tx_ring_size;
    return d;
}

/* QEMU e1000e_start_xmit over the pending packet's descriptors: for each,
 * pci_dma_read of the descriptor, the data descriptor's
 * net_tx_pkt_add_raw_fragment (pci_dma_map of its bytes), and
 * e1000e_txdesc_writeback (pci_dma_write of `upper`, offset 12). */
static void tx_flush(e1k_t *e, const iosim_rec_t *now)
{
    if (!e->npend)
        return;
    iosim_sim_t *s = e->sim;
    /* the ring accesses are the device's: its source id and domain are
     * the pending maps', whatever record (a MARK) flushes them; the
     * time is the sim's current one */
    (void)now;
    now = &e->pend[0];
    if (e->p->tx_ctx_desc) {
        uint64_t d = tx_desc(e);
        dev_access(s, now, d, E1K_DESC, false);
        if (e->p->tx_wb_every_desc)
            dev_access(s, now, d + 12, 4, true);
    }
    for (size_t i = 0; i < e->npend; i++) {
        const iosim_rec_t *m = &e->pend[i];
        uint64_t step = e->p->tx_max_per_txd;
        for (uint64_t off = 0; off < m->size; off += step) {
            uint64_t n = m->size - off < step ? m->size - off : step;
            bool last = i + 1 == e->npend && off + n >= m->size;
            uint64_t d = tx_desc(e);
            dev_access(s, now, d, E1K_DESC, false);
            if (dev_live(s, m->iova + off))
                dev_access(s, m, m->iova + off, n, false);
            if (e->p->tx_wb_every_desc || last)
                dev_access(s, now, d + 12, 4, true);
        }
    }
    e->npend = 0;
}

/* QEMU e1000e_write_packet_to_guest for one descriptor: read it, write
 * the packet to the buffer, write the descriptor back, then its status
 * with DD (e1000e_pci_dma_write_rx_desc). */
static void rx_complete(e1k_t *e, const iosim_rec_t *r, const iosim_rec_t *map,
                        uint64_t iova, uint64_t size)
{
    iosim_sim_t *s = e->sim;
    uint64_t d = e->rx_base + (uint64_t)e->rx_idx * E1K_DESC;
    e->rx_idx = (e->rx_idx + 1) % e->p->rx_ring_size;
    dev_access(s, r, d, E1K_DESC, false);
    dev_access(s, map, iova, size, true);
    dev_access(s, r, d, E1K_DESC, true);
    if (e->p->rx_status_write)
        dev_access(s, r, d + 8, 4, true);
}

static int e1k_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    e1k_t *e = state;
    e->last = *r;
    int ring = in_ring(e, r->iova, r->size);
    if (ring < 0)
        return iosim_err_set(
            err,
            "e1000e: MAP 0x%llx+0x%llx overlaps a "
            "descriptor ring (tx 0x%llx, rx 0x%llx): "
            "no role for it (dev.e1000e.*_ring_iova?)",
            (unsigned long long)r->iova, (unsigned long long)r->size,
            (unsigned long long)e->tx_base, (unsigned long long)e->rx_base);
    if (ring > 0) { /* the ring's own mapping */
        tx_flush(e, r);
        return 0;
    }
    if (tab_find(e, r->iova))
        return iosim_err_set(err,
                             "e1000e: MAP 0x%llx of a buffer already "
                             "mapped (no UNMAP between)",
                             (unsigned long long)r->iova);
    uint8_t role = ROLE_TX;
    if (e->owed[r->cpu]) {
        e->owed[r->cpu]--;
        role = ROLE_RX;
    } else if (e->fill) {
        e->fill--;
        role = ROLE_RX;
    }
    if (role == ROLE_RX || r->cpu != e->pend_cpu)
        tx_flush(e, r);
    buf_t *b = tab_add(e, r, role);
    if (!b)
        return iosim_err_set(err, "out of memory");
    if (role == ROLE_RX)
        return 0;
    if (fifo_push(e, b->iova, b->seq) < 0)
        return iosim_err_set(err, "out of memory");
    if (vec_reserve(&e->pend, &e->pend_cap, e->npend + 1, 8))
        return iosim_err_set(err, "out of memory");
    e->pend[e->npend++] = *r;
    e->pend_cpu = r->cpu;
    return 0;
}

/* An rx completion's bookkeeping: one preposted buffer fewer if it was
 * one, a refill owed on this CPU, evidence that this CPU cleans rx. */
static void rx_done(e1k_t *e, uint8_t cpu, bool preposted)
{
    if (preposted && e->pre)
        e->pre--;
    e->owed[cpu]++;
    e->rx_ev[cpu]++;
}

static int e1k_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    e1k_t *e = state;
    e->last = *r;
    tx_flush(e, r);
    if (in_ring(e, r->iova, r->size))
        return 0;
    buf_t *b = tab_find(e, r->iova);
    if (!b) { /* mapped before the trace began */
        if (e->pre) {
            if (dev_live(e->sim, r->iova))
                rx_complete(e, r, r, r->iova, r->size);
            rx_done(e, r->cpu, true);
        } else {
            e->tx_ev[r->cpu]++;
        }
        return 0;
    }
    switch (b->role) {
    case ROLE_RX:
        rx_complete(e, r, &b->map, b->iova, b->size);
        rx_done(e, r->cpu, false);
        break;
    case ROLE_RX_LATE: /* posted before the trace; accessed at its map */
        rx_done(e, r->cpu, true);
        break;
    case ROLE_TX: {
        /* tx unmaps follow map order: older tx-looking buffers still
         * mapped were rx buffers posted before the trace */
        while (e->fifo_len) {
            struct fifo_ent *f = &e->fifo[e->fifo_head];
            buf_t *o = fifo_buf(e, f);
            if (o && o->seq >= b->seq)
                break;
            if (o && e->pre) {
                o->role = ROLE_RX_LATE;
                e->pre--;
            }
            e->fifo_head++;
            e->fifo_len--;
        }
        if (e->pre && e->rx_ev[r->cpu] > e->tx_ev[r->cpu]) {
            rx_done(e, r->cpu, true);
        } else {
            e->tx_ev[r->cpu]++;
        }
        break;
    }
    default:
        break;
    }
    tab_del(e, b);
    return 0;
}

static int e1k_mark(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    e1k_t *e = state;
    tx_flush(e, r);
    return 0;
}

static int e1k_finish(void *state, iosim_err_t *err)
{
    (void)err;
    e1k_t *e = state;
    tx_flush(e, &e->last);
    return 0;
}

const dev_model_ops_t dev_model_e1000e = {
    .name = "e1000e",
    .summary = "Intel 82574 as QEMU 7.2 emulates it: 16 B descriptor "
               "reads and write-backs, tx buffers read after their maps, "
               "rx buffers written in ring order before their unmaps",
    .source = "QEMU hw/net/e1000e_core.c (e1000e_start_xmit, "
              "e1000e_write_packet_to_guest); Linux 6.1 "
              "drivers/net/ethernet/intel/e1000e/netdev.c",
    .params = {e1000e_rows, sizeof(struct dev_e1000e_params), NULL},
    .create = e1k_create,
    .destroy = e1k_destroy,
    .map = e1k_map,
    .unmap = e1k_unmap,
    .mark = e1k_mark,
    .finish = e1k_finish,
};
