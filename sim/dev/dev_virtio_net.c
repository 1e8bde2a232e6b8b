/* dev_virtio_net.c — the `virtio-net` device model: QEMU's emulated
 * virtio-net-pci (split or packed virtqueues, mergeable rx buffers, no
 * vhost) behind
 * its vIOMMU, as the translations it makes for the buffers a Linux 6.1
 * guest maps and unmaps.
 *
 * Concepts:
 *   - Every device access is one translation.  QEMU reaches the rings
 *     through MemoryRegionCaches (hw/virtio/virtio.c
 *     virtio_init_region_cache -> address_space_cache_init); behind an
 *     IOMMU the cache holds no host pointer (system/physmem.c
 *     address_space_cache_init: the section is the IOMMU region, not
 *     direct RAM), so every ring load and store goes
 *     address_space_{read,write}_cached -> *_cached_slow ->
 *     address_space_translate_cached -> address_space_translate_iommu ->
 *     the vIOMMU's translate: one translation per ring field accessed.
 *     A buffer is mapped once when its element is popped (virtio.c
 *     virtqueue_map_desc -> dma_memory_map -> address_space_map), one
 *     translation per 4 KB page (flatview_translate clips at the IOMMU
 *     page, flatview_extend_translation translates each further page);
 *     the data is then copied through host pointers (no translation).
 *   - The model keeps a miniature of both sides of each split virtqueue:
 *     Linux's (drivers/virtio/virtio_ring.c: descriptor free list, LIFO
 *     as virtqueue_add_split / detach_buf_split keep it; avail index and
 *     avail ring slots) and QEMU's (last_avail_idx, shadow_avail_idx,
 *     used_idx, notification), so each access goes to the ring field,
 *     hence the page, QEMU touches.  Ring layout as vring_init: desc
 *     table (16 B each), avail (flags, idx, ring[num], used_event), used
 *     aligned to vring_align (flags, idx, ring[num] of 8 B, avail_event).
 *   - Roles from map/unmap alone (the trace has no direction):
 *     a MAP inside a ring's pages is that ring made explicit (the
 *     importer's MAP at a pre-trace page's first translation); an rx
 *     refill is a MAP on the CPU of the last rx completion while the rx
 *     queue has more than min(napi_budget, rx size)/2 free descriptors,
 *     continuing until it has none (virtio_net.c virtnet_receive ->
 *     try_fill_recv, which refills until num_free is 0), and whose
 *     physical page continues the rx page frag (add_recvbuf_mergeable
 *     carves buffers one after the other from a 32 KB
 *     skb_page_frag_refill page: same or next page, or a new 32 KB
 *     aligned frag once the last one is used up); in a run of more maps
 *     of that CPU than the queue has free descriptors (the poll's
 *     transmits, sent before or after try_fill_recv, which maps until the
 *     queue is full with nothing of its CPU in between), the refill is
 *     the first or the last of them by which block's buffers follow one
 *     another in the frag (refill_split); any other MAP is
 *     a tx buffer (xmit_skb -> virtqueue_add_outbuf), a packet of its
 *     own unless it is an indirect table: a tx MAP whose unmap, among the
 *     records held back, comes right before those of the n >= 2 tx maps
 *     before it, in their order (virtqueue_add_split maps the sg entries,
 *     then the table; detach_buf_split unmaps the table, then the
 *     entries), is the table of a packet of those n buffers: one
 *     descriptor (tx_indirect).  An
 *     UNMAP of a posted tx buffer is a tx completion (free_old_xmit_skbs:
 *     no access; an indirect packet's once its table and every entry are
 *     unmapped); of an rx buffer, or of an IOVA the trace never mapped
 *     while the rx ring still holds buffers posted before the trace, it
 *     is that buffer's rx completion (virtnet_receive ->
 *     virtqueue_get_buf_ctx -> detach_buf_split -> vring_unmap_one_split).
 *   - When an rx packet is written (rx_at=arrival, the default): when it
 *     reached the device, which writes it at once (QEMU net/tap.c tap_send,
 *     the tap fd's handler in the main loop -> qemu_send_packet_async ->
 *     virtio_net_receive -> virtio_net_receive_rcu), after its buffer was
 *     posted and before the NAPI poll that unmaps it (Linux virtnet_poll
 *     -> virtnet_poll_cleantx, then virtnet_receive, which takes only
 *     buffers the device has used).  A trace imported with the
 *     netdev's dump (`import qemu --pcap`) records each packet's arrival
 *     on its buffer's UNMAP (aux, traces/FORMAT.md §4), which the model
 *     uses (at the latest the unmap's time).  Without it, each
 *     poll (its first rx unmap after the guest's last MAP, tm) estimates
 *     the arrivals: its first packet arrived just after tm (a request/response
 *     peer answers the transmit that MAP posted, or the one the refill
 *     followed; a host peer's own delay is not in the trace: 0), each
 *     later packet as long before its unmap as the first (packets arrive
 *     at the rate the poll takes them, the poll's unmap times), at the
 *     latest at its unmap.  The sim holds records back
 *     (dev.virtio-net.lookahead) so the model sees the coming unmaps.
 *     rx_at=unmap writes each packet just before its unmap; rx_at=poll all
 *     of a poll's before its first unmap.
 *   - A backend that answers inside the tx element (QEMU's user
 *     networking: libslirp's tcp_input sends an ACK at once, TF_ACKNOW,
 *     from virtio_net_flush_tx -> qemu_sendv_packet_async -> net/slirp.c
 *     net_slirp_receive, and tcp_output's segment comes back through
 *     net_slirp_send_packet -> qemu_send_packet -> virtio_net_receive
 *     before virtqueue_push): a tx MAP whose reserved field says so
 *     (IOSIM_SEG_*, written by `iosim-trace import qemu --pcap` from the
 *     netdev's dump, sim/trace/pcap_slirp.c) gets the next rx packet, in
 *     the order the device takes buffers, written between its pop and its
 *     push.  A trace without the field is replayed as before.
 *   - Accesses, QEMU 7.2 functions (hw/virtio/virtio.c unless noted):
 *     rx packet (hw/net/virtio-net.c virtio_net_receive_rcu):
 *       virtio_net_has_buffers: virtio_queue_empty (avail idx only if
 *       shadow_avail_idx == last_avail_idx); virtqueue_avail_bytes ->
 *       virtqueue_get_avail_bytes: virtqueue_num_heads (avail idx in
 *       7.2; from 8.2 on, shadow_heads, only if the shadow is used up),
 *       virtqueue_get_head (avail ring[i]), vring_split_desc_read (desc);
 *       virtio_queue_set_notification(0) -> vring_avail_idx (avail idx;
 *       vring_set_avail_event writes nothing while notification is off);
 *       virtqueue_pop -> virtqueue_split_pop: virtqueue_get_head (avail
 *       ring), vring_split_desc_read (desc), virtqueue_map_desc (buffer
 *       pages); virtqueue_fill -> vring_used_write (used elem);
 *       virtqueue_flush -> vring_used_idx_set (used idx); virtio_notify ->
 *       virtio_split_should_notify -> vring_get_used_event (used_event).
 *     tx kick (hw/net/virtio-net.c virtio_net_handle_tx_bh):
 *       virtio_queue_set_notification(0) (avail idx); virtio_net_tx_bh ->
 *       virtio_net_flush_tx: per packet virtqueue_pop (avail ring, desc,
 *       buffer pages; an indirect packet: desc, then per entry the
 *       table's entry and its buffer's pages), virtqueue_push (used elem,
 *       used idx), virtio_notify
 *       (used_event); the pop that finds the queue empty (avail idx);
 *       then virtio_queue_set_notification(1) (avail idx, avail_event
 *       write) and virtio_net_flush_tx again (its empty pop: avail idx).
 *     Without event_idx: set_notification reads and writes used flags,
 *     should_notify reads avail flags.
 *   - Packed rings (dev.virtio-net.ring=packed, VIRTIO_F_RING_PACKED;
 *     the same hw/net/virtio-net.c call sequence, virtio.c's packed
 *     branches): three one-page allocations per queue, top-down ring,
 *     driver event area, device event area (Linux
 *     vring_create_virtqueue_packed); QEMU's caches->avail is the driver
 *     area, caches->used the device area.  The empty check reads
 *     desc[last_avail].flags, always (virtio_queue_packed_empty_rcu); a
 *     descriptor read is four reads, flags, addr, id, len
 *     (vring_packed_desc_read); a completion is three writes at
 *     desc[used_idx], id, len, flags (virtqueue_packed_flush ->
 *     vring_packed_desc_write; fill writes nothing); set_notification
 *     reads the device area's flags and off_wrap and writes its flags
 *     (and off_wrap when enabling with event_idx); should_notify reads
 *     the driver area's flags and off_wrap, whatever they hold.  rx
 *     packet: 13 descriptor-ring, 3 device-area, 2 driver-area
 *     translations; tx: 8 descriptor-ring and 2 driver-area per packet,
 *     2 descriptor-ring and 7 device-area per flush.  The driver posts in
 *     ring order (virtqueue_add_packed: next_avail_idx) with buffer ids
 *     from a LIFO free list, which name no address: the split model's
 *     avail slots serve as ring positions.  An indirect tx packet
 *     (virtqueue_add_indirect_packed: the entries mapped, then the table;
 *     detach_buf_packed: the table unmapped, then the entries, as on the
 *     split ring, so tx_indirect finds it alike) takes one slot; QEMU's
 *     virtqueue_packed_pop reads the head (4), then per entry the table's
 *     entry with vring_packed_desc_read (4 translations of the table's
 *     page) and maps its buffer; virtqueue_packed_read_next_desc stops
 *     at desc.len / 16 entries.  A packet over n mergeable rx buffers:
 *     virtqueue_packed_get_avail_bytes reads the n entries (4 each), n
 *     pops (5 each and the pages), one virtqueue_packed_flush of n
 *     elements (3 writes each), one notify: 1 + 12 n descriptor-ring
 *     translations (every rx packet of the packed tap capture has exactly
 *     that many, docs/dev-virtio-net.md).
 * Assumptions:
 *   - One rx and one tx queue (no multiqueue), split or packed rings,
 *     mergeable rx buffers of one descriptor each (add_recvbuf_mergeable);
 *     an rx packet in one buffer unless the trace gives its frame's
 *     length (UNMAP reserved, `import qemu --pcap-tap`) and the frame
 *     and the header overflow it: then QEMU fills the
 *     next buffers too (virtio_net_receive_rcu: has_buffers walks heads
 *     until their lengths cover it, a pop per buffer, then every used
 *     elem, one flush and notify), which Linux unmaps right after the
 *     first (receive_mergeable).  The buffers' lengths are Linux's:
 *     get_mergeable_buf_len of the average rx packet length
 *     (DECLARE_EWMA, replayed from the lengths in the order the guest
 *     unmaps first buffers), carved from 32 KB frags with the hole rule
 *     (add_recvbuf_mergeable; the MAP's physical page tells a new frag),
 *     virtnet_open's buffers at average 0.  A packet's further buffer
 *     posted before the trace has its pages translated at its unmap
 *     (its IOVA is not known before).  Without lengths (every trace but
 *     --pcap-tap ones) a backend without vnet header, as QEMU's user
 *     network, has no guest GSO, so Linux's buffers, at least hdr
 *     + Ethernet + VLAN + MTU, hold any frame (mergeable_min_buf_len),
 *     every tx packet one buffer or an indirect table
 *     (no VIRTIO_NET_F_CSUM without a vnet header, so no NETIF_F_SG: one
 *     sg entry; with it, header + linear part + frags through a table).
 *   - A MAP the importer joined to a frame the guest sent (reserved
 *     IOSIM_SEG_KNOWN: QEMU's first translation of its page came right
 *     after a tx descriptor read) is a tx buffer, whatever the refill
 *     rules say.
 *   - An indirect table's offset in its page is not in the trace (its
 *     MAP is page-aligned): its entries are read from the page's start
 *     (the same page: a kmalloc'd table of up to 19 x 16 B lies in one).
 *   - The rx ring is full when the trace begins (virtnet_open ->
 *     try_fill_recv) and its buffers, posted before the trace, are
 *     consumed first, in order; their IOVAs, allocated top-down right
 *     after the rings, descend from the rings' bottom, so a MAP of pages
 *     the trace never saw, ending at most PRETRACE_GAP pages below the
 *     lowest such buffer so far, is the importer making the next one
 *     explicit (sim/trace/import_qemu.c rule 3): no role of its own.
 *   - Tx maps that follow one another with no other record between are
 *     posted before QEMU's tx bottom half runs: one kick, one flush;
 *     but an rx packet that arrived after the first of them was kicked
 *     is written after that flush (virtio_net_handle_tx_bh schedules the
 *     bottom half, which the main loop runs before it polls the backend
 *     again: util/aio-posix.c aio_dispatch, aio_bh_poll first).  The
 *     bottom half's own delay is not in the trace and counts as 0: the
 *     flush runs at the latest guest record before the kick, the map of
 *     the packet's last buffer or the invalidations after it
 *     (tx_kick_due), once the next record shows no further tx map.
 *   - The importer's explicit MAPs (a ring, a pre-trace rx buffer) carry
 *     QEMU's time, not the guest's: they end no tx group, refill or
 *     poll and time no arrival (explicit_map).
 *   - The device starts at ring index 0 with the rx descriptors 0..num-1
 *     posted in order and the tx ring empty (indices matter only for
 *     rings of more than one page: checked on a capture with a 1,024-entry
 *     rx ring, 7 pages, redis-strict-qs1024-pcap-qemu: QEMU's translations
 *     per ring page equal the model's but for 57 of 8,480 on the tx
 *     avail/used page).  Queue sizes from the trace's metadata
 *     (implies.dev.virtio-net.rx_queue_size / tx_queue_size, which the
 *     importer takes from the capture's meta.tsv), else 256.
 *   - rx_at=arrival: the peer answers the guest's transmits (a request/
 *     response load); a peer that streams on its own (bulk receive) has
 *     arrivals the guest's maps do not bound from below.
 * Not modeled: the control virtqueue's commands (its ring is placed and
 *   its explicit MAP accepted, its buffers count as tx), multiqueue,
 *   descriptor chains without a table (indirect off: a packet's buffers
 *   are unmapped in the order they were posted, as packets of one buffer
 *   are, so each counts as a packet), an indirect table whose unmap is
 *   not held back, a frame that
 *   waits for a refill because the posted buffers do not cover it (it
 *   takes those posted), a frag offset the model lost (the trace's first
 *   refill, single-page frags: the page's start), rx drops when the ring
 *   is empty (virtio_net_has_buffers' retry), the
 *   tx timer mode, vhost (no QEMU translations at all), a later QEMU's
 *   translation of both pages of a used elem that straddles a page in a
 *   ring of more than one page (QEMU 7.2's first page only is modeled,
 *   for every version: q_fill).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "config/config.h"
#include "dev/dev.h"

/* virtio-net (dev_virtio_net.c): QEMU's emulated virtio-net (split or
 * packed rings, indirect tx tables, mergeable rx buffers) as its ring and
 * buffer translations */
struct dev_virtio_net_params {
    uint32_t rx_queue_size;     /* descriptors of rx virtqueue 0          */
    uint32_t tx_queue_size;     /* descriptors of tx virtqueue 0          */
    uint32_t ctrl_queue_size;   /* descriptors of the control virtqueue   */
    uint32_t vring_align;       /* split-ring used-ring alignment (bytes) */
    uint64_t ring_top;          /* the rings' IOVAs end here (top-down)   */
    uint64_t rx_ring_iova;      /* 0 = derived from ring_top              */
    uint64_t tx_ring_iova;      /* 0 = derived                            */
    uint64_t ctrl_ring_iova;    /* 0 = derived                            */
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated     */
    bool shadow_heads;          /* QEMU >= 8.2 virtqueue_num_heads        */
    bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    uint32_t napi_budget;       /* rx NAPI budget (refill threshold)      */
    uint32_t tx_burst;          /* QEMU virtio-net x-txburst              */
    char rx_at[IOSIM_NAME_LEN]; /* unmap | poll                         */
    uint32_t lookahead;         /* records held back (tables, rx ahead)  */
    char ring[IOSIM_NAME_LEN];  /* auto | split | packed                  */
    bool mrg_rxbuf;             /* VIRTIO_NET_F_MRG_RXBUF negotiated      */
    uint32_t hdr_len;           /* virtio-net header the device writes    */
    uint32_t rx_min_buf_len;    /* Linux rq->min_buf_len                  */
    uint32_t rx_ewma_weight;    /* Linux DECLARE_EWMA(pkt_len, 0, weight) */
};

#define OFF(field) offsetof(struct dev_virtio_net_params, field)

// clang-format off
static const iosim_param_t virtio_net_rows[] = {
    {"dev.virtio-net.rx_queue_size", IOSIM_P_U32,
     OFF(rx_queue_size), "256", 2, 32768, NULL,
     "virtio-net: descriptors of the rx virtqueue (a power of two)",
     "QEMU hw/net/virtio-net.c VIRTIO_NET_RX_QUEUE_DEFAULT_SIZE (property "
     "rx_queue_size), used by virtio_net_add_queue"},
    {"dev.virtio-net.tx_queue_size", IOSIM_P_U32,
     OFF(tx_queue_size), "256", 2, 32768, NULL,
     "virtio-net: descriptors of the tx virtqueue (a power of two)",
     "QEMU hw/net/virtio-net.c VIRTIO_NET_TX_QUEUE_DEFAULT_SIZE (property "
     "tx_queue_size), used by virtio_net_add_queue"},
    {"dev.virtio-net.ctrl_queue_size", IOSIM_P_U32,
     OFF(ctrl_queue_size), "64", 0, 32768, NULL,
     "virtio-net: descriptors of the control virtqueue (0 = none; only "
     "its ring placement is modeled)",
     "QEMU hw/net/virtio-net.c virtio_net_device_realize: "
     "virtio_add_queue(vdev, 64, virtio_net_handle_ctrl)"},
    {"dev.virtio-net.vring_align", IOSIM_P_U32,
     OFF(vring_align), "64", 2, 65536, NULL,
     "virtio-net: alignment of the used ring after the avail ring (bytes, "
     "a power of two)",
     "Linux drivers/virtio/virtio_pci_modern.c setup_vq -> "
     "vring_create_virtqueue(..., SMP_CACHE_BYTES, ...) (64 on x86-64)"},
    {"dev.virtio-net.ring_top", IOSIM_P_U64, OFF(ring_top),
     "0x100000000", 4096, 18446744073709551615.0, NULL,
     "virtio-net: the rings are allocated top-down below this IOVA: rx, "
     "then tx, then control, each at a size-aligned power-of-two span",
     "Linux drivers/iommu/dma-iommu.c iommu_dma_alloc_iova (32-bit limit "
     "first for PCI, roundup_pow_of_two) and drivers/iommu/iova.c "
     "__alloc_and_insert_iova_range (top-down, size-aligned); queues "
     "created rx0, tx0, ..., ctrl (drivers/net/virtio_net.c "
     "virtnet_find_vqs), each ring by vring_alloc_queue -> "
     "dma_alloc_coherent"},
    {"dev.virtio-net.rx_ring_iova", IOSIM_P_U64,
     OFF(rx_ring_iova), "0", 0, 281474976710656.0, NULL, /* 2^48 */
     "virtio-net: IOVA of the rx ring (0 = derived from ring_top)",
     "derived (ring_top)"},
    {"dev.virtio-net.tx_ring_iova", IOSIM_P_U64,
     OFF(tx_ring_iova), "0", 0, 281474976710656.0, NULL, /* 2^48 */
     "virtio-net: IOVA of the tx ring (0 = derived from ring_top)",
     "derived (ring_top)"},
    {"dev.virtio-net.ctrl_ring_iova", IOSIM_P_U64,
     OFF(ctrl_ring_iova), "0", 0, 281474976710656.0, /* 2^48 */
     NULL, "virtio-net: IOVA of the control ring (0 = derived)",
     "derived (ring_top)"},
    {"dev.virtio-net.event_idx", IOSIM_P_BOOL, OFF(event_idx),
     "true", 0, 0, NULL,
     "virtio-net: VIRTIO_RING_F_EVENT_IDX negotiated (used_event / "
     "avail_event instead of the flags fields)",
     "QEMU include/hw/virtio/virtio.h DEFINE_VIRTIO_COMMON_FEATURES "
     "(event_idx on); Linux virtio_ring.c vring_transport_features keeps "
     "it"},
    {"dev.virtio-net.shadow_heads", IOSIM_P_BOOL,
     OFF(shadow_heads), "false", 0, 0, NULL,
     "virtio-net: QEMU >= 8.2: virtqueue_num_heads reads avail idx only "
     "when shadow_avail_idx is used up (false: QEMU 7.2, one more avail "
     "idx read per rx packet)",
     "QEMU hw/virtio/virtio.c virtqueue_num_heads, commit \"virtio: use "
     "shadow_avail_idx while checking number of heads\" (Oct 2023, first "
     "in 8.2); false = QEMU 7.2, Debian 12's, which the capture pipeline "
     "and most shipped captures use; set true for QEMU >= 8.2 (the "
     "-q10/-fs captures, QEMU 10.0)"},
    {"dev.virtio-net.indirect", IOSIM_P_BOOL, OFF(indirect), "true", 0, 0,
     NULL,
     "virtio-net: VIRTIO_RING_F_INDIRECT_DESC negotiated: a tx packet of "
     "several buffers is one descriptor pointing to an indirect table (a "
     "tx MAP whose unmap comes just before those of the tx maps before it, "
     "in their order, is that table; split or packed ring)",
     "QEMU include/hw/virtio/virtio.h DEFINE_VIRTIO_COMMON_FEATURES "
     "(indirect_desc on); Linux drivers/virtio/virtio_ring.c "
     "vring_transport_features keeps it, __vring_new_virtqueue and "
     "vring_create_virtqueue_packed (indirect unless the queue has a "
     "context: rx queues with mergeable buffers), virtqueue_use_indirect "
     "(total_sg > 1), virtqueue_add_indirect_packed"},
    {"dev.virtio-net.napi_budget", IOSIM_P_U32,
     OFF(napi_budget), "64", 1, 65536, NULL,
     "virtio-net: rx NAPI budget; the driver refills when more than "
     "min(budget, rx_queue_size)/2 descriptors are free",
     "Linux drivers/net/virtio_net.c virtnet_receive (refill condition), "
     "netif_napi_add_weight(..., napi_weight = NAPI_POLL_WEIGHT = 64)"},
    {"dev.virtio-net.tx_burst", IOSIM_P_U32, OFF(tx_burst),
     "256", 1, 65536, NULL,
     "virtio-net: packets virtio_net_flush_tx sends before the bottom "
     "half reschedules itself",
     "QEMU hw/net/virtio-net.c TX_BURST (256), property x-txburst"},
    {"dev.virtio-net.rx_at", IOSIM_P_STR, OFF(rx_at), "arrival", 1, 0,
     "unmap|poll|arrival",
     "virtio-net: when an rx packet's device accesses happen: arrival = "
     "when the packet reached the device (a poll's first packet just after "
     "the guest's last map before the poll's first rx unmap, each later one "
     "as long before its own unmap as the first; at the latest at its "
     "unmap; in the order the device takes buffers); unmap = just before "
     "the guest's unmap of its buffer; poll = every packet of one NAPI poll "
     "(a run of rx unmaps on one CPU, at most napi_budget, that no other "
     "record of that CPU interrupts) before the poll's first unmap",
     "QEMU 7.2 hw/net/virtio-net.c virtio_net_receive_rcu (the packet "
     "written as the backend delivers it: virtqueue_pop, virtqueue_fill, "
     "virtqueue_flush, virtio_notify); Linux 6.1/6.12 "
     "drivers/net/virtio_net.c virtnet_poll -> virtnet_receive (while "
     "packets < budget && virtqueue_get_buf: only buffers the device has "
     "already used); start_xmit -> virtqueue_kick (the transmit a "
     "request/response peer answers); the peer's own delay is not in the "
     "trace and counts as 0 (UNVERIFIED for a peer that is not a fast host)"},
    {"dev.virtio-net.lookahead", IOSIM_P_U32, OFF(lookahead), "1024", 1,
     1048576, NULL,
     "virtio-net rx_at=poll|arrival, or indirect: records the sim holds back "
     "so the model can see the coming rx and tx unmaps (an indirect table "
     "whose entries' unmaps lie farther is taken for packets of one buffer; "
     "an rx packet whose unmap lies farther is written later)",
     "calibration, measured on every shipped QEMU capture "
     "(docs/dev-virtio-net.md \"How far the model looks ahead\"): a "
     "table's last entry's unmap at most 325 records after the table's map "
     "(3,036 tables, median 26-37, redis-strict-tap-packed-qemu), an rx "
     "packet's unmap at most 229 after its recorded arrival; 1,024 holds "
     "three times the farthest; UNVERIFIED beyond those captures"},
    {"dev.virtio-net.ring", IOSIM_P_STR, OFF(ring), "auto", 1, 0,
     "auto|split|packed",
     "virtio-net: the virtqueue format the guest and QEMU negotiated: split "
     "(vring: descriptor table, avail and used rings) or packed "
     "(VIRTIO_F_RING_PACKED: one descriptor ring and two event suppression "
     "areas per queue); auto = what the trace's metadata records of its "
     "capture (implies.dev.virtio-net.ring, written by iosim-trace import "
     "from the capture's meta.tsv), else split; naming the other format "
     "than the metadata's is an error",
     "virtio 1.1 §2.6 (split), §2.7 (packed); QEMU "
     "include/hw/virtio/virtio.h DEFINE_VIRTIO_COMMON_FEATURES (property "
     "packed, default false: split); hw/virtio/virtio.c "
     "virtio_vdev_has_feature(VIRTIO_F_RING_PACKED) branches; Linux "
     "drivers/virtio/virtio_ring.c vring_create_virtqueue (packed when "
     "VIRTIO_F_RING_PACKED is negotiated)"},
    {"dev.virtio-net.mrg_rxbuf", IOSIM_P_BOOL, OFF(mrg_rxbuf), "true", 0, 0,
     NULL,
     "virtio-net: VIRTIO_NET_F_MRG_RXBUF negotiated: an rx frame longer "
     "than its buffer continues in the next ones (split or packed ring; "
     "needs the frame's length, UNMAP reserved from `import qemu "
     "--pcap-tap`; without it every packet takes one buffer)",
     "QEMU hw/net/virtio-net.c virtio_net_properties (mrg_rxbuf, default "
     "on), virtio_net_receive_rcu (pop until the frame is copied: offset < "
     "size; fill each element, one flush); Linux drivers/net/virtio_net.c "
     "virtnet_probe (mergeable_rx_bufs), receive_mergeable (num_buffers)"},
    {"dev.virtio-net.hdr_len", IOSIM_P_U32, OFF(hdr_len), "12", 10, 64, NULL,
     "virtio-net: bytes of the virtio-net header the device writes at the "
     "start of a packet's first rx buffer",
     "virtio 1.1 §5.1.6 struct virtio_net_hdr (12 B with "
     "VIRTIO_NET_F_MRG_RXBUF or VIRTIO_F_VERSION_1); Linux virtnet_probe "
     "(vi->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf)); QEMU "
     "virtio_net_set_mrg_rx_bufs (guest_hdr_len)"},
    {"dev.virtio-net.rx_min_buf_len", IOSIM_P_U32, OFF(rx_min_buf_len),
     "1518", 64, 4096, NULL,
     "virtio-net: the smallest packet length Linux sizes a mergeable rx "
     "buffer for (the EWMA is clamped to it)",
     "Linux drivers/net/virtio_net.c mergeable_min_buf_len: max(ceil((hdr "
     "+ ETH_HLEN + VLAN_HLEN + IP_MAX_MTU) / rx ring size) - hdr, "
     "GOOD_PACKET_LEN) = max(257 - 12, 1518) = 1518 for a 256-entry ring "
     "with big_packets (guest TSO)"},
    {"dev.virtio-net.rx_ewma_weight", IOSIM_P_U32, OFF(rx_ewma_weight), "64",
     1, 1024, NULL,
     "virtio-net: weight reciprocal of Linux's average rx packet length "
     "(a power of two), which sizes each mergeable rx buffer at refill",
     "Linux drivers/net/virtio_net.c DECLARE_EWMA(pkt_len, 0, 64); "
     "include/linux/average.h ewma_*_add; receive_mergeable -> "
     "ewma_pkt_len_add(head_skb->len); get_mergeable_buf_len"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

#define VN_PAGE 4096ull
#define VN_FRAG 32768ull /* SKB_FRAG_PAGE_ORDER: 32 KB page frags */
#define VN_L1 64ull      /* L1_CACHE_BYTES (x86-64): get_mergeable_buf_len */
/* an early rx buffer whose IOVA is not known yet (posted before the
 * trace): the next unmap of an IOVA the rx ring does not know is it */
#define VN_IOVA_UNKNOWN UINT64_MAX
/* pages a pre-trace rx buffer may lie below the previous one (8 KB
 * alignment holes, buffers consumed before the trace began) */
#define PRETRACE_GAP 8ull

typedef struct vn_buf {
    uint64_t iova, size;
    uint32_t len; /* rx: the buffer's length as Linux posted it */
    bool known;   /* iova known (a traced MAP or an unmap that named it) */
    bool answer;  /* tx: the backend answers inside the element */
    uint32_t cpu; /* tx: the CPU that mapped it */
} vn_buf_t;

/* A packet posted through an indirect table (the head's buffer is the
 * table): its entries' buffers in sg order. */
typedef struct vn_ind {
    uint64_t *iova, *size;
    uint32_t n, cap; /* entries (0: not indirect), allocated */
    uint32_t left;   /* the packet's mappings (table too) not yet unmapped */
} vn_ind_t;

/* the most entries an indirect table is recognized with (Linux: total_sg
 * <= MAX_SKB_FRAGS + 2, include/linux/skbuff.h, drivers/net/virtio_net.c
 * xmit_skb) */
#define VN_MAX_SG 64u

/* One split virtqueue: its layout, Linux's side and QEMU's side. */
typedef struct vn_vq {
    uint32_t num;
    int qi;                     /* 0 rx, 1 tx: row of vn_what */
    uint64_t base, bytes, span; /* ring IOVA, bytes, allocated IOVA span */
    uint64_t desc, avail, used; /* IOVAs of the three parts (split)  */
    /* packed: desc is the descriptor ring; the driver and device event
     * suppression areas (QEMU's caches->avail and caches->used) */
    uint64_t drv_ev, dev_ev;
    /* driver (virtio_ring.c) */
    uint16_t drv_avail;  /* avail->idx published */
    uint16_t drv_done;   /* oldest avail slot maybe still in flight */
    uint32_t *slot_head; /* avail ring: head of each slot (mod num) */
    bool *slot_live;     /* slot's buffer not yet detached */
    uint32_t *next;      /* free list links (desc_extra[].next) */
    uint32_t free_head, num_free;
    vn_buf_t *buf; /* per descriptor head */
    vn_ind_t *ind; /* per descriptor head: its indirect table's entries */
    /* an index of the known buffers: IOVA -> head (the latest buffer of
     * that IOVA), and each head's avail slot, so that finding a buffer by
     * IOVA does not scan the ring */
    u64map_t index;
    uint32_t *slot_of;
    /* device (QEMU virtio.c VirtQueue) */
    uint16_t last_avail, shadow_avail, used_idx;
    bool notification;
} vn_vq_t;

typedef struct vn {
    iosim_sim_t *sim;
    const iosim_rec_t *rec; /* record being served */
    struct dev_virtio_net_params p;
    vn_vq_t rx, tx;
    uint32_t refill_threshold;
    int refill_cpu;      /* CPU of the last rx completion, -1 none */
    bool refilling;      /* a refill batch is under way */
    uint32_t tx_pending; /* tx posted since QEMU's bottom half last ran */
    uint64_t tx_kick_t;  /* time of the first of them: the guest's kick */
    /* the last tx MAP, and a copy at the time of an invalidation after it
     * (the device's identity for a flush served there) */
    iosim_rec_t tx_last, tx_at;
    uint32_t pretrace_rx;  /* rx buffers posted before the trace, left */
    uint64_t pretrace_low; /* lowest IOVA of those made explicit so far */
    uint64_t frag_page;    /* physical page where the last rx buffer ends */
    bool frag_known;
    uint64_t last_page; /* physical page where the last MAP ends */
    int last_cpu;       /* its CPU */
    /* a run of maps after a poll split into transmits and the refill
     * (refill_split): on run_cpu, run_tx tx maps, then run_rx refill
     * maps, then run_post tx maps */
    int run_cpu;
    uint32_t run_tx, run_rx, run_post;
    bool rx_at_poll;    /* dev.virtio-net.rx_at = poll */
    bool rx_at_arrival; /* dev.virtio-net.rx_at = arrival */
    /* rx_at=arrival: time of the last MAP; the first rx completion after
     * it (the poll's start) */
    uint64_t last_map_t, poll_u1;
    bool poll_started;
    /* rx buffers the device has written ahead of their unmap (a poll's
     * later packets): their IOVAs and avail slots, oldest first */
    uint64_t *early_iova;
    uint16_t *early_idx;
    uint32_t nearly, early_cap;
    uint32_t early_lim; /* written-ahead packets rx_at allows (poll: a
                           budget); continuation buffers up to early_cap */
    uint32_t popped;    /* the head q_pop took last */
    bool packed;        /* dev.virtio-net.ring = packed */
    /* every ring allocation (split: one per queue; packed: ring, driver
     * and device event areas per queue): IOVA and bytes */
    uint64_t reg_base[9], reg_bytes[9];
    int nreg;
    /* mergeable rx buffer lengths (Linux add_recvbuf_mergeable): the
     * average packet length (ewma's internal value), and where the next
     * buffer is carved from the 32 KB page frag: the frag's physical
     * base (if known) and offset */
    uint64_t ewma;
    uint64_t lf_base;
    uint32_t lf_off;
    bool lf_base_known, lf_known;
} vn_t;

/* ---- ring geometry (Linux include/uapi/linux/virtio_ring.h) ---------- */

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint64_t vring_bytes(uint32_t num, uint32_t align)
{
    uint64_t used = align_up(16ull * num + 4 + 2ull * num + 2, align);
    return used + 4 + 8ull * num + 2;
}

/* iommu_dma_alloc_iova: pages rounded up to a power of two (size-aligned) */
static uint64_t ring_span(uint64_t bytes)
{
    uint64_t pages = (bytes + VN_PAGE - 1) / VN_PAGE, p = 1;
    while (p < pages)
        p <<= 1;
    return p * VN_PAGE;
}

static int vq_init(vn_vq_t *q, uint32_t num, uint64_t base, uint32_t align,
                   bool posted)
{
    q->num = num;
    q->qi = posted ? 0 : 1;
    q->base = base;
    q->bytes = vring_bytes(num, align);
    q->desc = base;
    q->avail = base + 16ull * num;
    q->used = base + align_up(16ull * num + 4 + 2ull * num + 2, align);
    q->slot_head = calloc(num, sizeof *q->slot_head);
    q->slot_live = calloc(num, sizeof *q->slot_live);
    q->next = calloc(num, sizeof *q->next);
    q->buf = calloc(num, sizeof *q->buf);
    q->slot_of = calloc(num, sizeof *q->slot_of);
    q->ind = calloc(num, sizeof *q->ind);
    /* at most num buffers are known: 4 num slots never grow (but for the
     * entries of indirect tables) */
    if (!q->slot_head || !q->slot_live || !q->next || !q->buf || !q->slot_of ||
        !q->ind || u64map_init(&q->index, 4 * (size_t)num) < 0)
        return -1;
    for (uint32_t i = 0; i < num; i++)
        q->next[i] = i + 1; /* vring_alloc_desc_extra: 0 -> 1 -> ... */
    q->free_head = 0;
    q->num_free = num;
    q->notification = true;
    if (posted) { /* every descriptor holds a buffer posted earlier */
        for (uint32_t i = 0; i < num; i++) {
            q->slot_head[i] = i;
            q->slot_of[i] = i;
            q->slot_live[i] = true;
        }
        q->free_head = num;
        q->num_free = 0;
        q->drv_avail = (uint16_t)num;
        q->shadow_avail = (uint16_t)num;
        q->notification = false; /* rx: has_buffers turned it off */
    }
    return 0;
}

static void vq_free(vn_vq_t *q)
{
    free(q->slot_head);
    free(q->slot_live);
    free(q->next);
    free(q->buf);
    for (uint32_t i = 0; q->ind && i < q->num; i++) {
        free(q->ind[i].iova);
        free(q->ind[i].size);
    }
    free(q->ind);
    u64map_fini(&q->index);
    free(q->slot_of);
}

/* ---- QEMU's side (hw/virtio/virtio.c) -------------------------------- */

/* What each access is, for iosim --dump-accesses (vring layout names:
 * Linux include/uapi/linux/virtio_ring.h). */
enum {
    W_DESC,
    W_AVAIL_FLAGS,
    W_AVAIL_IDX,
    W_AVAIL_RING,
    W_USED_EVENT,
    W_USED_FLAGS,
    W_USED_IDX,
    W_USED_ELEM,
    W_AVAIL_EVENT,
    W_BUF,
    /* packed (VRingPackedDesc fields; VRingPackedDescEvent of the driver
     * and device areas) */
    W_PD_FLAGS,
    W_PD_ADDR,
    W_PD_ID,
    W_PD_LEN,
    W_DRV_FLAGS,
    W_DRV_OFF_WRAP,
    W_DEV_FLAGS,
    W_DEV_OFF_WRAP,
    W_INDIRECT, /* an indirect table's entry (split: its 16 B; packed: each
                   of its four fields) */
    W_COUNT
};
static const char *const vn_what[2][W_COUNT] = {
    {"rx.desc", "rx.avail.flags", "rx.avail.idx", "rx.avail.ring",
     "rx.used_event", "rx.used.flags", "rx.used.idx", "rx.used.elem",
     "rx.avail_event", "rx.buf", "rx.desc.flags", "rx.desc.addr", "rx.desc.id",
     "rx.desc.len", "rx.driver.flags", "rx.driver.off_wrap", "rx.device.flags",
     "rx.device.off_wrap", "rx.indirect"},
    {"tx.desc", "tx.avail.flags", "tx.avail.idx", "tx.avail.ring",
     "tx.used_event", "tx.used.flags", "tx.used.idx", "tx.used.elem",
     "tx.avail_event", "tx.buf", "tx.desc.flags", "tx.desc.addr", "tx.desc.id",
     "tx.desc.len", "tx.driver.flags", "tx.driver.off_wrap", "tx.device.flags",
     "tx.device.off_wrap", "tx.indirect"},
};

static void acc(vn_t *v, const vn_vq_t *q, int what, uint64_t iova,
                uint64_t size, bool write)
{
    dev_access_as(v->sim, v->rec, iova, size, write, vn_what[q->qi][what]);
}

/* ---- packed rings (hw/virtio/virtio.c, the vring_packed_* helpers):
 * VRingPackedDesc {addr u64 @0, len u32 @8, id u16 @12, flags u16 @14},
 * VRingPackedDescEvent {off_wrap u16 @0, flags u16 @2}; every field
 * load/store is one address_space_{read,write}_cached: one translation */

/* the descriptor ring's entry i (mod num: the wrap counters flip, the
 * address does not) */
static uint64_t pd_at(const vn_vq_t *q, uint16_t i)
{
    return q->desc + 16ull * (i % q->num);
}

/* vring_packed_desc_read_flags */
static void pd_read_flags(vn_t *v, vn_vq_t *q, uint16_t i)
{
    acc(v, q, W_PD_FLAGS, pd_at(q, i) + 14, 2, false);
}

/* vring_packed_desc_read of the descriptor at IOVA d: flags, then addr,
 * id, len (four reads); named as ring fields, or all as entries of an
 * indirect table (table) */
static void pd_read_at(vn_t *v, vn_vq_t *q, uint64_t d, bool table)
{
    acc(v, q, table ? W_INDIRECT : W_PD_FLAGS, d + 14, 2, false);
    acc(v, q, table ? W_INDIRECT : W_PD_ADDR, d, 8, false);
    acc(v, q, table ? W_INDIRECT : W_PD_ID, d + 12, 2, false);
    acc(v, q, table ? W_INDIRECT : W_PD_LEN, d + 8, 4, false);
}

/* vring_packed_desc_read of the descriptor ring's entry i */
static void pd_read(vn_t *v, vn_vq_t *q, uint16_t i)
{
    pd_read_at(v, q, pd_at(q, i), false);
}

/* vring_packed_desc_write: _write_data (id, len), then _write_flags */
static void pd_write(vn_t *v, vn_vq_t *q, uint16_t i)
{
    acc(v, q, W_PD_ID, pd_at(q, i) + 12, 2, true);
    acc(v, q, W_PD_LEN, pd_at(q, i) + 8, 4, true);
    acc(v, q, W_PD_FLAGS, pd_at(q, i) + 14, 2, true);
}

/* vring_packed_event_read of the driver area (driver) or the device
 * area: flags, then off_wrap */
static void pe_read(vn_t *v, vn_vq_t *q, bool driver)
{
    uint64_t e = driver ? q->drv_ev : q->dev_ev;
    acc(v, q, driver ? W_DRV_FLAGS : W_DEV_FLAGS, e + 2, 2, false);
    acc(v, q, driver ? W_DRV_OFF_WRAP : W_DEV_OFF_WRAP, e, 2, false);
}

/* vring_avail_idx: reads avail->idx, refreshes shadow_avail_idx */
static void q_avail_idx(vn_t *v, vn_vq_t *q)
{
    acc(v, q, W_AVAIL_IDX, q->avail + 2, 2, false);
    q->shadow_avail = q->drv_avail;
}

/* virtio_queue_empty / virtio_queue_empty_rcu (split);
 * virtio_queue_packed_empty_rcu: desc[last_avail_idx].flags, always */
static bool q_empty(vn_t *v, vn_vq_t *q)
{
    if (v->packed) {
        pd_read_flags(v, q, q->last_avail);
        return q->drv_avail == q->last_avail;
    }
    if (q->shadow_avail != q->last_avail)
        return false;
    q_avail_idx(v, q);
    return q->shadow_avail == q->last_avail;
}

/* virtqueue_num_heads */
static uint16_t q_num_heads(vn_t *v, vn_vq_t *q, uint16_t idx)
{
    if (!v->p.shadow_heads || q->shadow_avail == idx)
        q_avail_idx(v, q);
    return (uint16_t)(q->shadow_avail - idx);
}

/* virtqueue_get_head: avail->ring[idx % num] */
static uint32_t q_get_head(vn_t *v, vn_vq_t *q, uint16_t idx)
{
    acc(v, q, W_AVAIL_RING, q->avail + 4 + 2ull * (idx % q->num), 2, false);
    return q->slot_head[idx % q->num];
}

/* vring_split_desc_read */
static void q_desc_read(vn_t *v, vn_vq_t *q, uint32_t head)
{
    acc(v, q, W_DESC, q->desc + 16ull * head, 16, false);
}

/* virtio_queue_set_notification -> virtio_queue_split_set_notification */
static void q_set_notification(vn_t *v, vn_vq_t *q, bool enable)
{
    q->notification = enable;
    if (v->packed) { /* virtio_queue_packed_set_notification */
        pe_read(v, q, false);
        if (enable && v->p.event_idx) /* vring_packed_off_wrap_write */
            acc(v, q, W_DEV_OFF_WRAP, q->dev_ev, 2, true);
        acc(v, q, W_DEV_FLAGS, q->dev_ev + 2, 2, true); /* _flags_write */
        return;
    }
    if (v->p.event_idx) {
        q_avail_idx(v, q); /* the argument of vring_set_avail_event */
        if (enable)        /* vring_set_avail_event: only when enabled */
            acc(v, q, W_AVAIL_EVENT, q->used + 4 + 8ull * q->num, 2, true);
    } else { /* vring_used_flags_{set,unset}_bit: load, store */
        acc(v, q, W_USED_FLAGS, q->used, 2, false);
        acc(v, q, W_USED_FLAGS, q->used, 2, true);
    }
}

/* virtqueue_pop -> virtqueue_split_pop; false if the queue is empty */
static bool q_pop(vn_t *v, vn_vq_t *q, bool write)
{
    if (q_empty(v, q))
        return false;
    uint32_t head;
    if (v->packed) { /* virtqueue_packed_pop: the entry at last_avail_idx
                        (one descriptor: no next read), no event write */
        pd_read(v, q, q->last_avail);
        head = q->slot_head[q->last_avail++ % q->num];
    } else {
        head = q_get_head(v, q, q->last_avail++);
        if (v->p.event_idx && q->notification) /* vring_set_avail_event */
            acc(v, q, W_AVAIL_EVENT, q->used + 4 + 8ull * q->num, 2, true);
        q_desc_read(v, q, head);
    }
    v->popped = head;
    const vn_buf_t *b = &q->buf[head];
    const vn_ind_t *in = &q->ind[head];
    /* VRING_DESC_F_INDIRECT: address_space_cache_init of the table (no
     * translation: the section is the IOMMU region), then per entry
     * vring_split_desc_read from it (one translation: 16 B, never across
     * a page) and virtqueue_map_desc of its buffer; the next entry is read
     * by virtqueue_split_read_next_desc after the map, none after the last
     * (no VRING_DESC_F_NEXT).  Packed (virtqueue_packed_pop, the head's
     * four reads above): per entry vring_packed_desc_read from the table
     * (flags, addr, id, len: four translations) and its buffer; the next
     * entry by virtqueue_packed_read_next_desc(indirect), none once the
     * index reaches desc.len / 16 (the table's total_sg entries).  The
     * table's offset in its page is not in the trace: entries from the
     * page's start. */
    for (uint32_t k = 0; k < in->n; k++) {
        if (v->packed)
            pd_read_at(v, q, b->iova + 16ull * k, true);
        else
            acc(v, q, W_INDIRECT, b->iova + 16ull * k, 16, false);
        acc(v, q, W_BUF, in->iova[k], in->size[k], write);
    }
    if (!in->n && b->known && b->size) /* virtqueue_map_desc: each page */
        acc(v, q, W_BUF, b->iova, b->size, write);
    return true;
}

/* virtqueue_fill -> virtqueue_split_fill -> vring_used_write: one
 * address_space_write_cached of the 8-byte elem.  The used ring's elems
 * start 4 B past a vring_align boundary (flags, idx), so in a ring of
 * more than one page an elem can straddle a page (1,024 entries: elems
 * 247 and 759, at ring offsets 0x4ffc and 0x5ffc).  QEMU 7.2 translates
 * only the elem's first page: address_space_write_cached_slow
 * (softmmu/physmem.c) translates its start, clipped at the IOMMU page
 * (address_space_translate_cached -> address_space_translate_iommu), and
 * hands flatview_write_continue the offset inside the cache, not the
 * IOVA, for the rest, which the vIOMMU then refuses as an unmapped IOVA
 * (the -qs1024 capture's QEMU log: vtd_dmar_fault at addr 0x7c0 and
 * 0x17c0, no translation of the next page; the import keeps no record of
 * the fault).  A later QEMU passes the IOVA there (cache->xlat + addr)
 * and translates the next page too: not modeled (its release
 * UNVERIFIED). */
static void q_fill(vn_t *v, vn_vq_t *q, uint32_t idx)
{
    if (v->packed) /* virtqueue_packed_fill: used_elems[] only */
        return;
    uint64_t at = q->used + 4 + 8ull * ((q->used_idx + idx) % q->num);
    uint64_t left = VN_PAGE - at % VN_PAGE; /* bytes to the page's end */
    acc(v, q, W_USED_ELEM, at, left < 8 ? left : 8, true);
}

/* virtqueue_flush -> virtqueue_split_flush -> vring_used_idx_set */
static void q_flush(vn_t *v, vn_vq_t *q, uint32_t count)
{
    if (v->packed) { /* virtqueue_packed_flush: elements 1..count-1, then
                        element 0, whose flags publish the batch
                        (virtqueue_packed_fill_desc at used_idx + i; one
                        descriptor per element) */
        for (uint32_t i = 1; i < count; i++)
            pd_write(v, q, (uint16_t)(q->used_idx + i));
        pd_write(v, q, q->used_idx);
        q->used_idx = (uint16_t)(q->used_idx + count);
        return;
    }
    acc(v, q, W_USED_IDX, q->used + 2, 2, true);
    q->used_idx = (uint16_t)(q->used_idx + count);
}

/* virtio_notify -> virtio_split_should_notify */
static void q_notify(vn_t *v, vn_vq_t *q)
{
    if (v->packed) { /* virtio_packed_should_notify: the driver area,
                        whatever its flags say */
        pe_read(v, q, true);
        return;
    }
    if (v->p.event_idx) /* vring_get_used_event: avail->ring[num] */
        acc(v, q, W_USED_EVENT, q->avail + 4 + 2ull * q->num, 2, false);
    else /* vring_avail_flags */
        acc(v, q, W_AVAIL_FLAGS, q->avail, 2, false);
}

static void rx_write_next(vn_t *v);
/* virtio_net_flush_tx: returns the packets sent.  A packet the backend
 * answers at once (libslirp: vn_buf_t answer) has its answer written
 * between its pop and its push: qemu_sendv_packet_async -> the backend ->
 * qemu_send_packet -> virtio_net_receive, inside the element. */
static uint32_t net_flush_tx(vn_t *v)
{
    uint32_t n = 0;
    while (q_pop(v, &v->tx, false)) {
        if (v->tx.buf[v->popped].answer) {
            v->tx.buf[v->popped].answer = false;
            rx_write_next(v);
        }
        q_fill(v, &v->tx, 0); /* virtqueue_push */
        q_flush(v, &v->tx, 1);
        q_notify(v, &v->tx);
        if (++n >= v->p.tx_burst)
            break;
    }
    return n;
}

/* The guest's kick: virtio_net_handle_tx_bh, then virtio_net_tx_bh until
 * it stops rescheduling itself. */
static void net_tx_kick(vn_t *v)
{
    if (!v->tx_pending)
        return;
    v->tx_pending = 0;
    q_set_notification(v, &v->tx, false);
    for (;;) {
        if (net_flush_tx(v) >= v->p.tx_burst)
            continue; /* full burst: rescheduled, notification still off */
        q_set_notification(v, &v->tx, true);
        if (net_flush_tx(v) == 0)
            return;
        q_set_notification(v, &v->tx, false);
    }
}

/* How many buffers, from the device's next avail slot on, a frame of
 * frame_len bytes (0: not known) fills: QEMU copies the header and then
 * the frame into one buffer after the other, each up to its length
 * (virtio_net_receive_rcu: iov_from_buf into each popped element while
 * offset < size), with mergeable buffers, on a split or a packed ring
 * alike (virtqueue_pop takes either); at most the buffers posted (not
 * modeled: the packet waiting for a refill). */
static uint32_t rx_nbufs(const vn_t *v, uint32_t frame_len)
{
    const vn_vq_t *q = &v->rx;
    if (!v->p.mrg_rxbuf || !frame_len)
        return 1;
    uint64_t need = (uint64_t)frame_len + v->p.hdr_len, got = 0;
    uint32_t n = 0;
    for (uint16_t i = q->last_avail; i != q->drv_avail && got < need; i++) {
        got += q->buf[q->slot_head[i % q->num]].len;
        n++;
    }
    return n ? n : 1;
}

/* A packet's further buffer (avail slot idx) is written now, ahead of
 * its unmap, which Linux makes right after the first's (receive_mergeable
 * -> virtqueue_get_buf_ctx, num_buffers - 1 times): kept with the
 * packets written ahead, by IOVA, or, posted before the trace, as the
 * next IOVA the rx ring does not know. */
static void rx_cont(vn_t *v, uint16_t idx)
{
    const vn_buf_t *b = &v->rx.buf[v->rx.slot_head[idx % v->rx.num]];
    if (v->nearly == v->early_cap)
        return; /* cannot happen: at most the ring's buffers are out */
    v->early_iova[v->nearly] = b->known ? b->iova : VN_IOVA_UNKNOWN;
    v->early_idx[v->nearly++] = idx;
}

/* virtio_net_receive_rcu of the packet whose first buffer the UNMAP u
 * frees (its frame's length: u->reserved, traces/FORMAT.md §4) */
static void net_receive(vn_t *v, const iosim_rec_t *u)
{
    vn_vq_t *q = &v->rx;
    uint32_t n = rx_nbufs(v, u->reserved);
    /* virtio_net_has_buffers: the empty check, then (mergeable)
     * virtqueue_avail_bytes -> virtqueue_split_get_avail_bytes: per head
     * until their lengths cover the packet, virtqueue_num_heads,
     * virtqueue_get_head, vring_split_desc_read (packed:
     * virtqueue_packed_get_avail_bytes: vring_packed_desc_read of the
     * entries from last_avail_idx on, one element each (a mergeable rx
     * buffer is one descriptor: no VRING_DESC_F_NEXT, so
     * virtqueue_packed_read_next_desc reads nothing), until their lengths
     * cover the packet: goto done) */
    if (v->packed) {
        if (!q_empty(v, q))
            for (uint32_t j = 0; j < n; j++)
                pd_read(v, q, (uint16_t)(q->last_avail + j));
    } else if (!q_empty(v, q)) {
        for (uint32_t j = 0; j < n; j++) {
            uint16_t idx = (uint16_t)(q->last_avail + j);
            if (!q_num_heads(v, q, idx))
                break;
            q_desc_read(v, q, q_get_head(v, q, idx));
        }
    }
    q_set_notification(v, q, false);
    /* QEMU 7.2: the pop loop, then every element filled (elems[],
     * lens[]), one flush, one notify */
    uint16_t first = q->last_avail;
    uint32_t got = 0;
    for (; got < n && q_pop(v, q, true); got++)
        if (got)
            rx_cont(v, (uint16_t)(first + got));
    if (!got)
        return;
    for (uint32_t j = 0; j < got; j++)
        q_fill(v, q, j);
    q_flush(v, q, got);
    q_notify(v, q);
}

/* ---- Linux's side (drivers/virtio/virtio_ring.c) --------------------- */

/* virtqueue_add_split of one buffer: head from the free list, the next
 * avail slot; -1 if the ring is full */
static int drv_add(vn_vq_t *q, uint64_t iova, uint64_t size)
{
    if (!q->num_free)
        return -1;
    uint32_t head = q->free_head;
    q->free_head = q->next[head];
    q->num_free--;
    q->buf[head] = (vn_buf_t){.iova = iova, .size = size, .known = true};
    q->ind[head].n = 0;
    /* cannot fail: the index never grows (vq_init) */
    (void)u64map_put(&q->index, iova, head);
    q->slot_of[head] = q->drv_avail % q->num;
    q->slot_head[q->drv_avail % q->num] = head;
    q->slot_live[q->drv_avail % q->num] = true;
    q->drv_avail++;
    return 0;
}

/* the index entry of iova, if it names head */
static void index_del(vn_vq_t *q, uint64_t iova, uint32_t head)
{
    size_t e = u64map_probe(&q->index, iova);
    if (e != SIZE_MAX && q->index.s[e].val == head)
        u64map_del_slot(&q->index, e);
}

/* drv_add undone (the last buffer added, not yet popped): its head back
 * on the free list, whose next link drv_add left as it was */
static void drv_unadd(vn_vq_t *q)
{
    uint32_t s = (uint16_t)--q->drv_avail % q->num;
    uint32_t head = q->slot_head[s];
    q->slot_live[s] = false;
    index_del(q, q->buf[head].iova, head);
    q->buf[head].known = false;
    q->free_head = head;
    q->num_free++;
}

/* detach_buf_split of the buffer in avail slot idx */
static void drv_detach(vn_vq_t *q, uint16_t idx)
{
    uint32_t head = q->slot_head[idx % q->num];
    q->slot_live[idx % q->num] = false;
    /* the index entry goes only if it names this buffer */
    if (q->buf[head].known)
        index_del(q, q->buf[head].iova, head);
    q->buf[head].known = false;
    /* an indirect packet's entries not unmapped yet (a recycled slot) */
    for (uint32_t k = 0; k < q->ind[head].n; k++)
        index_del(q, q->ind[head].iova[k], head);
    q->ind[head].n = 0;
    q->next[head] = q->free_head;
    q->free_head = head;
    q->num_free++;
    while (q->drv_done != q->drv_avail && !q->slot_live[q->drv_done % q->num])
        q->drv_done++;
}

/* the live slot in [from, to) whose buffer starts at iova; -1 none */
static int drv_find(const vn_vq_t *q, uint16_t from, uint16_t to, uint64_t iova)
{
    uint64_t found;
    if (!u64map_get(&q->index, iova, &found))
        return -1; /* no known buffer starts there */
    uint32_t head = (uint32_t)found;
    uint32_t s = q->slot_of[head];
    if (q->slot_live[s] && q->slot_head[s] == head &&
        ((s - from) & (q->num - 1)) < (uint16_t)(to - from))
        return (int)s;
    /* another buffer of that IOVA (the index holds the latest) */
    for (uint16_t i = from; i != to; i++) {
        s = i % q->num;
        if (q->slot_live[s] && q->buf[q->slot_head[s]].known &&
            q->buf[q->slot_head[s]].iova == iova)
            return (int)s;
    }
    return -1;
}

/* the first live slot in [from, to) whose IOVA is unknown; -1 none */
static int drv_find_unknown(const vn_vq_t *q, uint16_t from, uint16_t to)
{
    for (uint16_t i = from; i != to; i++) {
        uint32_t s = i % q->num;
        if (q->slot_live[s] && !q->buf[q->slot_head[s]].known)
            return s;
    }
    return -1;
}

/* ---- mergeable rx buffers (Linux drivers/net/virtio_net.c) ----------- */

/* get_mergeable_buf_len without XDP (room 0): the header plus the average
 * packet length clamped to [min_buf_len, PAGE_SIZE - hdr_len], aligned to
 * L1_CACHE_BYTES */
static uint32_t mrg_buf_len(const vn_t *v)
{
    uint64_t lo = v->p.rx_min_buf_len, hi = VN_PAGE - v->p.hdr_len;
    uint64_t a = v->ewma < lo ? lo : v->ewma > hi ? hi : v->ewma;
    return (uint32_t)align_up(v->p.hdr_len + a, VN_L1);
}

/* add_recvbuf_mergeable carves one buffer of len at frag offset *off
 * (skb_page_frag_refill made room): the offset moves past it, and when
 * what is left (the hole) could not hold another buffer of len, the
 * buffer takes it too.  Returns the buffer's length. */
static uint32_t frag_carve(uint32_t *off, uint32_t len)
{
    *off += len;
    uint32_t hole = (uint32_t)VN_FRAG - *off;
    if (hole < len) {
        len += hole;
        *off += hole;
    }
    return len;
}

/* The buffers virtnet_open -> try_fill_recv posted before the trace, in
 * slot order: the average is 0 then (no packet yet: the smallest
 * length), carved from fresh frags (skb_page_frag_refill: a new frag
 * when the rest does not fit). */
static void rx_open_lens(vn_t *v)
{
    uint32_t off = 0, len = mrg_buf_len(v);
    for (uint32_t i = 0; i < v->rx.num; i++) {
        if (off + len > VN_FRAG)
            off = 0;
        v->rx.buf[i].len = frag_carve(&off, len);
    }
    v->lf_off = off;
    v->lf_known = true;
}

/* The length of the rx buffer a refill MAP posts (its first page: the
 * physical address r->aux): the average's length, carved at the frag
 * offset.  The MAP shows only the pages, so the offset is checked
 * against them: a buffer in another page than the offset's starts a new
 * frag when that page is 32 KB aligned (skb_page_frag_refill: a new
 * frag, or the old one at offset 0 once every buffer in it was freed),
 * else the model lost track (a single-page fallback frag, the trace's
 * first refill) and takes that page's start (UNVERIFIED: off by less
 * than a page). */
static uint32_t rx_refill_len(vn_t *v, const iosim_rec_t *r)
{
    uint32_t len = mrg_buf_len(v), off = v->lf_off;
    uint64_t page = r->aux & ~(VN_PAGE - 1), rel = off & ~(VN_PAGE - 1);
    bool fits = v->lf_known && off + len <= VN_FRAG;
    if (fits && (v->lf_base_known ? page == v->lf_base + rel
                                  : (page & (VN_FRAG - 1)) == rel)) {
        v->lf_base = page - rel;
    } else if (!(page & (VN_FRAG - 1))) {
        v->lf_base = page;
        off = 0;
    } else {
        v->lf_base = page & ~(VN_FRAG - 1);
        off = (uint32_t)(page - v->lf_base);
    }
    v->lf_base_known = v->lf_known = true;
    len = frag_carve(&off, len);
    v->lf_off = off;
    return len;
}

/* receive_mergeable -> ewma_pkt_len_add(head_skb->len): the frame's
 * length (include/linux/average.h, precision 0: the first value is taken
 * as it is) */
static void rx_ewma_add(vn_t *v, uint64_t len)
{
    unsigned w = 0;
    while ((2u << w) <= v->p.rx_ewma_weight)
        w++;
    v->ewma = v->ewma ? ((v->ewma << w) - v->ewma + len) >> w : len;
}

/* ---- model ------------------------------------------------------------ */

static void vn_destroy(void *state)
{
    vn_t *v = state;
    if (!v)
        return;
    vq_free(&v->rx);
    vq_free(&v->tx);
    free(v->early_iova);
    free(v->early_idx);
    free(v);
}

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/* One coherent allocation of bytes, top-down below low (see ring_top's
 * source: power-of-two pages, size-aligned), unless given (nonzero);
 * recorded as a ring region.  Returns its IOVA. */
static uint64_t vn_alloc(vn_t *v, uint64_t low, uint64_t bytes, uint64_t given)
{
    uint64_t span = ring_span(bytes);
    uint64_t at = given ? given : (low - span) & ~(span - 1);
    v->reg_base[v->nreg] = at;
    v->reg_bytes[v->nreg++] = bytes;
    return at;
}

/* The rings' IOVAs, queues rx0, tx0, ctrl top-down (virtnet_find_vqs),
 * and the two data queues' miniatures.  Split: one allocation per queue,
 * vring_size(num, vring_align) (vring_alloc_queue).  Packed: three per
 * queue, in this order: the descriptor ring (16 x num B), the driver
 * event area, the device event area (4 B each; Linux
 * vring_create_virtqueue_packed: three vring_alloc_queue calls). */
static int vn_layout(vn_t *v, const struct dev_virtio_net_params *p)
{
    uint32_t n[3] = {p->rx_queue_size, p->tx_queue_size, p->ctrl_queue_size};
    uint64_t given[3] = {p->rx_ring_iova, p->tx_ring_iova, p->ctrl_ring_iova};
    uint64_t ring[3] = {0, 0, 0}, drv[3] = {0, 0, 0}, dev[3] = {0, 0, 0};
    uint64_t low = p->ring_top;
    for (int k = 0; k < 3 && n[k]; k++) {
        if (!v->packed) {
            low = ring[k] =
                vn_alloc(v, low, vring_bytes(n[k], p->vring_align), given[k]);
            continue;
        }
        ring[k] = vn_alloc(v, low, 16ull * n[k], given[k]);
        drv[k] = vn_alloc(v, ring[k], 4, 0);
        low = dev[k] = vn_alloc(v, drv[k], 4, 0);
    }
    if (vq_init(&v->rx, n[0], ring[0], p->vring_align, true) ||
        vq_init(&v->tx, n[1], ring[1], p->vring_align, false))
        return -1;
    vn_vq_t *q[2] = {&v->rx, &v->tx};
    for (int k = 0; k < 2; k++) {
        q[k]->span = ring_span(v->packed ? 16ull * n[k] : q[k]->bytes);
        if (v->packed) { /* only desc, drv_ev and dev_ev are used */
            q[k]->bytes = 16ull * n[k];
            q[k]->avail = q[k]->used = 0;
            q[k]->drv_ev = drv[k];
            q[k]->dev_ev = dev[k];
        }
    }
    return 0;
}

/* The ring format the trace's metadata records for its capture
 * (implies.dev.virtio-net.ring, written by the importer), or NULL. */
static const char *vn_meta_ring(const iosim_trace_meta_t *m)
{
    for (uint32_t i = 0; m && i < m->n_implies && i < IOSIM_META_IMPLIES_MAX;
         i++)
        if (!strcmp(m->implies[i].key, "dev.virtio-net.ring"))
            return m->implies[i].value;
    return NULL;
}

static void *vn_create(iosim_sim_t *s, iosim_err_t *err)
{
    const struct dev_virtio_net_params *p =
        iosim_plugin_params(sim_config(s), virtio_net_rows);
    if (!is_pow2(p->rx_queue_size) || !is_pow2(p->tx_queue_size) ||
        (p->ctrl_queue_size && !is_pow2(p->ctrl_queue_size)) ||
        !is_pow2(p->vring_align))
        return iosim_err_set(err, "virtio-net: queue sizes and vring_align "
                                  "must be powers of two (split virtqueue)"),
               NULL;
    vn_t *v = calloc(1, sizeof *v);
    if (!v)
        return iosim_err_set(err, "out of memory"), NULL;
    v->sim = s;
    v->p = *p;
    /* auto: the capture's format as its metadata records it, else split;
     * a capture on the other format than the one named: its accesses are
     * not these */
    const char *cap = vn_meta_ring(sim_meta(s));
    const char *ring = p->ring;
    if (!strcmp(ring, "auto"))
        ring = cap ? cap : "split";
    v->packed = !strcmp(ring, "packed");
    if (!v->packed && strcmp(ring, "split")) {
        free(v);
        return iosim_err_key(err, "dev.virtio-net.ring",
                             "'%s' is not auto, split or packed", ring),
               NULL;
    }
    if (cap && strcmp(cap, ring)) {
        free(v);
        /* keyed by the metadata: the CLI names the trace */
        return iosim_err_key(err, "meta.implies",
                             "dev.virtio-net.ring=%s, but the trace's "
                             "capture used a %s virtqueue "
                             "(implies.dev.virtio-net.ring=%s)",
                             p->ring, cap, cap),
               NULL;
    }
    if (vn_layout(v, p)) {
        vn_destroy(v);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    uint32_t b =
        p->napi_budget < p->rx_queue_size ? p->napi_budget : p->rx_queue_size;
    v->refill_threshold = b / 2;
    v->refill_cpu = -1;
    v->run_cpu = -1;
    v->last_cpu = -1;
    v->pretrace_rx = p->rx_queue_size;
    v->pretrace_low = v->reg_base[0];
    for (int i = 1; i < v->nreg; i++)
        if (v->reg_base[i] < v->pretrace_low)
            v->pretrace_low = v->reg_base[i];
    v->rx_at_poll = !strcmp(p->rx_at, "poll");
    v->rx_at_arrival = !strcmp(p->rx_at, "arrival");
    if (!v->rx_at_poll && !v->rx_at_arrival && strcmp(p->rx_at, "unmap")) {
        vn_destroy(v);
        return iosim_err_key(err, "dev.virtio-net.rx_at",
                             "'%s' is not unmap, poll or arrival", p->rx_at),
               NULL;
    }
    /* the indirect table's role needs the coming tx unmaps; the kick
     * (tx_kick_due) the next record at least */
    if (!v->rx_at_poll && !v->rx_at_arrival &&
        dev_lookahead(s, p->indirect ? p->lookahead : 1, err)) {
        vn_destroy(v);
        return NULL;
    }
    if (!is_pow2(p->rx_ewma_weight)) {
        vn_destroy(v);
        return iosim_err_key(err, "dev.virtio-net.rx_ewma_weight",
                             "%u is not a power of two (DECLARE_EWMA)",
                             p->rx_ewma_weight),
               NULL;
    }
    /* buffers written ahead of their unmap: packets (rx_at: at most a
     * poll's, or the whole ring) and a packet's further buffers; at most
     * the ring's */
    v->early_cap = p->rx_queue_size;
    v->early_lim = v->rx_at_poll ? p->napi_budget : p->rx_queue_size;
    v->early_iova = calloc(v->early_cap, sizeof *v->early_iova);
    v->early_idx = calloc(v->early_cap, sizeof *v->early_idx);
    if (!v->early_iova || !v->early_idx ||
        ((v->rx_at_poll || v->rx_at_arrival) &&
         dev_lookahead(s, p->lookahead, err))) {
        vn_destroy(v);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    rx_open_lens(v);
    return v;
}

/* add_recvbuf_mergeable carves rx buffers one after the other from
 * rq->alloc_frag (skb_page_frag_refill: a 32 KB compound page,
 * SKB_FRAG_PAGE_ORDER): the next buffer starts in the last page of the
 * previous one or the page after it, or at the start of a new frag. */
static bool frag_next(const vn_t *v, const iosim_rec_t *r)
{
    uint64_t phys = r->aux & ~(VN_PAGE - 1);
    if (!v->frag_known)
        return true;
    if (phys == v->frag_page || phys == v->frag_page + VN_PAGE)
        return true;
    /* a new frag (32 KB aligned) once the current one is used up: the
     * last buffer of a frag takes its remainder (the "hole") */
    if (!(phys & (VN_FRAG - 1)) &&
        (v->frag_page & (VN_FRAG - 1)) == VN_FRAG - VN_PAGE)
        return true;
    /* resynchronisation: the previous map of this CPU ended in the page
     * before this one (two buffers of one frag in a row) */
    return v->last_cpu == r->cpu &&
           (phys == v->last_page || phys == v->last_page + VN_PAGE);
}

/* 1: [iova, iova+size) is inside the pages of a ring (the ring itself);
 * 0: it touches no ring; -1: it overlaps a ring partly */
static int ring_overlap(const vn_t *v, uint64_t iova, uint64_t size)
{
    for (int i = 0; i < v->nreg; i++) {
        uint64_t base = v->reg_base[i];
        uint64_t end = base + align_up(v->reg_bytes[i], VN_PAGE);
        if (iova + size <= base || iova >= end)
            continue;
        return iova >= base && iova + size <= end ? 1 : -1;
    }
    return 0;
}

/* Every record but a tx map: QEMU's tx bottom half has run. */
static void vn_other_record(vn_t *v, const iosim_rec_t *r)
{
    v->rec = r;
    net_tx_kick(v);
    if ((int)r->cpu == v->refill_cpu)
        v->refilling = false;
    if ((int)r->cpu == v->run_cpu && r->kind != IOSIM_REC_MAP)
        v->run_tx = v->run_rx = v->run_post = 0; /* the run is over */
}

static int vn_map_role(vn_t *v, const iosim_rec_t *r, iosim_err_t *err);
static int tx_indirect(vn_t *v, const iosim_rec_t *m, iosim_err_t *err);
static void rx_arrive(vn_t *v, const iosim_rec_t *cur);

/* The importer's MAP of a ring, or of an rx buffer posted before the
 * trace, made explicit at QEMU's first translation of it
 * (sim/trace/import_qemu.c rule 3): no record of the guest, and its time
 * is QEMU's (the buffer's pop), which the model must not see: it ends no
 * tx group or refill, and no arrival is timed by it.  *low: the lowest
 * such buffer so far (pretrace_low, or a copy while scanning ahead). */
static bool rx_early(const vn_t *v, uint64_t iova);
static bool explicit_map(const vn_t *v, const iosim_rec_t *r, uint64_t *low)
{
    if (r->kind != IOSIM_REC_MAP)
        return false;
    if (ring_overlap(v, r->iova, r->size) > 0)
        return true;
    /* the record being served: a pre-trace buffer the device has
     * written already (at its recorded arrival, rx_unmap_ahead), still
     * mapped, so not the guest's MAP (not for a record ahead: its IOVA
     * may be freed and mapped again before it) */
    if (low == &v->pretrace_low && rx_early(v, r->iova)) {
        if (r->iova < *low)
            *low = r->iova;
        return true;
    }
    if (v->pretrace_rx && r->iova + r->size <= *low &&
        r->iova + r->size + PRETRACE_GAP * VN_PAGE >= *low &&
        drv_find_unknown(&v->rx, v->rx.last_avail, v->rx.drv_avail) >= 0) {
        *low = r->iova;
        return true;
    }
    return false;
}

/* The kick (issue 20 follow-up).  Linux 6.1 start_xmit kicks right
 * after xmit_skb -> virtqueue_add_outbuf has posted the packet (`kick =
 * !netdev_xmit_more()`; virtqueue_kick_prepare, then virtqueue_notify),
 * and virtqueue_add_split / virtqueue_add_indirect_packed map the
 * packet's buffers (the indirect table last) before they return; under
 * caching mode each map's invalidation is submitted inside dma_map
 * (intel-iommu __mapping_notify_one -> iommu_flush_iotlb_psi), so the
 * INVAL records right after the map of the packet's last buffer are the
 * latest guest records before the kick.  QEMU's handler
 * (hw/net/virtio-net.c virtio_net_handle_tx_bh) schedules the bottom
 * half, which the main loop runs before it polls anything else
 * (util/aio-posix.c aio_dispatch: aio_bh_poll first); its delay is not in
 * the trace (0, as for rx_arrive).  Tx maps that no other guest record
 * separates stay one flush (see Assumptions), so the flush is due at the
 * record being served (a tx map, or an invalidation after one) when the
 * next record the model sees is neither an invalidation nor a guest MAP
 * (a MAP that may be the next packet: it flushes when its role says rx,
 * vn_other_record).  Until now the flush waited for that next record,
 * up to milliseconds later (docs/dev-virtio-net.md, "When the tx bottom
 * half runs"); the order of the accesses is the same. */
static void tx_kick_due(vn_t *v, const iosim_rec_t *cur)
{
    if (!v->tx_pending)
        return;
    uint64_t low = v->pretrace_low;
    for (size_t i = 0;; i++) {
        const iosim_rec_t *r = dev_peek(v->sim, i);
        if (!r || r->kind == IOSIM_REC_INVAL)
            return; /* the end of the view (the next record kicks, or
                       vn_finish), or an invalidation: decided there */
        if (r->kind == IOSIM_REC_DMA)
            continue; /* a device access the trace carries: not the
                         guest's */
        if (r->kind != IOSIM_REC_MAP)
            break;
        if (!explicit_map(v, r, &low))
            return;
    }
    v->rec = cur;
    net_tx_kick(v);
}

static int vn_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    vn_t *v = state;
    if (explicit_map(v, r, &v->pretrace_low))
        return 0;
    v->last_map_t = r->t;
    v->poll_started = false;
    int rc = vn_map_role(v, r, err);
    if (!rc && v->rx_at_arrival)
        rx_arrive(v, r);
    if (!rc)
        tx_kick_due(v, r);
    v->last_page = (r->aux + r->size - 1) & ~(VN_PAGE - 1);
    v->last_cpu = r->cpu;
    return rc;
}

/* An invalidation names no device (a PSI has no source-id): a flush due
 * here is the device's, at this record's time. */
static int vn_inval(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    vn_t *v = state;
    if (!v->tx_pending)
        return 0;
    v->tx_at = v->tx_last;
    v->tx_at.t = r->t;
    tx_kick_due(v, &v->tx_at);
    return 0;
}

/* The position of the first UNMAP of iova among the records held back,
 * or SIZE_MAX. */
static size_t peek_unmap(const vn_t *v, uint64_t iova)
{
    for (size_t i = 0;; i++) {
        const iosim_rec_t *r = dev_peek(v->sim, i);
        if (!r)
            return SIZE_MAX;
        if (r->kind == IOSIM_REC_UNMAP && r->iova == iova)
            return i;
    }
}

/* The tx MAP m (just posted as a packet of one buffer) as the indirect
 * table of the n >= 2 tx buffers posted right before it.  Linux
 * virtqueue_add_split maps a packet's sg entries in order
 * (vring_map_one_sg), then the table (vring_map_single, total_sg x 16 B),
 * and uses a table only for more than one entry (virtqueue_use_indirect);
 * detach_buf_split unmaps the table first (vring_unmap_one_split of the
 * head, VRING_DESC_F_INDIRECT: dma_unmap_single), then each entry in
 * table order (vring_unmap_one_split_indirect), on one CPU with nothing
 * else mapped in between.  So m is a table when, among the records held
 * back, the UNMAPs on its unmap's CPU right after it (invalidations and
 * other CPUs' records skipped) are those of the n buffers before m, in
 * their order; packets of one buffer each are unmapped in the order they
 * were posted, never so.  The n + 1 descriptors become one: the table's,
 * whose entries are the buffers.  Nothing changes when m's unmap is not
 * held back (a tx completion more than dev.virtio-net.lookahead records
 * away).  A packed ring's the same: virtqueue_add_indirect_packed maps
 * the entries, then the table; detach_buf_packed unmaps the table
 * (vring_unmap_state_packed of the head's desc_extra), then each entry
 * (vring_unmap_desc_packed). */
static int tx_indirect(vn_t *v, const iosim_rec_t *m, iosim_err_t *err)
{
    vn_vq_t *q = &v->tx;
    /* the buffers posted before m since the last kick: one buffer each,
     * known, mapped on m's CPU */
    uint32_t k = 0;
    while (k + 1 < v->tx_pending && k < VN_MAX_SG) {
        uint32_t h = q->slot_head[(uint16_t)(q->drv_avail - 2 - k) % q->num];
        if (q->ind[h].n || !q->buf[h].known || q->buf[h].cpu != m->cpu)
            break;
        k++;
    }
    if (k < 2)
        return 0;
    size_t i = peek_unmap(v, m->iova);
    if (i == SIZE_MAX)
        return 0;
    uint32_t cpu = dev_peek(v->sim, i)->cpu;
    uint64_t e_iova[VN_MAX_SG], e_size[VN_MAX_SG];
    uint32_t n = 0, got = 0;
    bool answer =
        q->buf[q->slot_head[(uint16_t)(q->drv_avail - 1) % q->num]].answer;
    for (size_t j = i + 1; !n || got < n; j++) {
        const iosim_rec_t *r = dev_peek(v->sim, j);
        if (!r)
            return 0;
        if (r->cpu != cpu || r->kind == IOSIM_REC_INVAL)
            continue;
        if (r->kind != IOSIM_REC_UNMAP)
            return 0;
        if (!n) { /* the first: which of the k buffers starts the packet */
            for (uint32_t c = 2; c <= k && !n; c++)
                if (q->buf[q->slot_head[(uint16_t)(q->drv_avail - 1 - c) %
                                        q->num]]
                        .iova == r->iova)
                    n = c;
            if (!n)
                return 0;
        }
        const vn_buf_t *b =
            &q->buf[q->slot_head[(uint16_t)(q->drv_avail - 1 - n + got) %
                                 q->num]];
        if (b->iova != r->iova)
            return 0;
        e_iova[got] = b->iova;
        e_size[got] = b->size;
        answer |= b->answer;
        got++;
    }
    if (16ull * n > m->size) /* the table holds total_sg x 16 B */
        return 0;
    for (uint32_t c = 0; c <= n; c++)
        drv_unadd(q);
    (void)drv_add(q, m->iova, m->size); /* the n + 1 heads just freed */
    uint32_t head = q->slot_head[(uint16_t)(q->drv_avail - 1) % q->num];
    vn_ind_t *in = &q->ind[head];
    if (in->cap < n) {
        uint64_t *a = realloc(in->iova, n * sizeof *a);
        if (a)
            in->iova = a;
        uint64_t *z = a ? realloc(in->size, n * sizeof *z) : NULL;
        if (!z)
            return iosim_err_set(err, "out of memory"), -1;
        in->size = z;
        in->cap = n;
    }
    for (uint32_t c = 0; c < n; c++) {
        in->iova[c] = e_iova[c];
        in->size[c] = e_size[c];
        if (u64map_put(&q->index, e_iova[c], head) < 0)
            return iosim_err_set(err, "out of memory"), -1;
    }
    in->n = n;
    in->left = n + 1;
    q->buf[head].cpu = m->cpu;
    q->buf[head].answer = answer;
    v->tx_pending -= n;
    return 0;
}

/* The importer's MAP of an rx buffer posted before the trace, made
 * explicit at its first translation (see Assumptions): no role of its
 * own. */
static bool pretrace_map(const vn_t *v, const iosim_rec_t *r)
{
    return v->pretrace_rx && r->iova + r->size <= v->pretrace_low &&
           r->iova + r->size + PRETRACE_GAP * VN_PAGE >= v->pretrace_low &&
           drv_find_unknown(&v->rx, v->rx.last_avail, v->rx.drv_avail) >= 0;
}

/* b continues a's page frag: it starts in the page where a ends or the
 * next, or starts a new 32 KB frag after a took the last one's end
 * (add_recvbuf_mergeable carves buffers one after the other from
 * rq->alloc_frag, skb_page_frag_refill; the last buffer of a frag takes
 * its remainder, the "hole"), as frag_next */
static bool frag_follows(const iosim_rec_t *a, const iosim_rec_t *b)
{
    uint64_t end = (a->aux + a->size - 1) & ~(VN_PAGE - 1);
    uint64_t phys = b->aux & ~(VN_PAGE - 1);
    return phys == end || phys == end + VN_PAGE ||
           (!(phys & (VN_FRAG - 1)) &&
            (end & (VN_FRAG - 1)) == VN_FRAG - VN_PAGE);
}

/* the most maps of one run refill_split looks at */
#define VN_RUN_MAX 1024u

/* A map of the poll's CPU while the rx queue wants a refill: the first
 * of a run of maps of that CPU (up to its next other record, among the
 * records held back; invalidations and other CPUs' records skipped).
 * try_fill_recv (drivers/net/virtio_net.c, after virtnet_receive's loop)
 * maps rx buffers until the queue has no free descriptor, with no other
 * record of its CPU in between (softirq); the transmits of that softirq
 * come before it (GRO's list flush inside the loop: napi_gro_receive ->
 * gro_normal_one -> netif_receive_skb_list_internal -> TCP -> start_xmit)
 * or after it (virtqueue_napi_complete -> napi_complete_done -> the GRO
 * flush).  So in a run of n > num_free maps the refill is the first or
 * the last num_free of them: the block whose buffers follow one another
 * in their page frag more often (frag_follows; add_recvbuf_mergeable
 * carves them one after the other from rq->alloc_frag), on a tie the
 * first if this map continues the frag (frag_next).  Sets the run's split
 * and returns 1 (this map is the refill's first) or 0 (a transmit); -1:
 * not such a run (n <= num_free, the run not all held back, or a map of
 * the importer's among them), left to frag_next alone. */
static int refill_split(vn_t *v, const iosim_rec_t *r)
{
    const iosim_rec_t *m[VN_RUN_MAX];
    uint32_t n = 0, f = v->rx.num_free;
    m[n++] = r;
    for (size_t i = 0;; i++) {
        const iosim_rec_t *q = dev_peek(v->sim, i);
        if (!q)
            return -1; /* the run is not all held back */
        if (q->cpu != r->cpu || q->kind == IOSIM_REC_INVAL)
            continue;
        if (q->kind != IOSIM_REC_MAP)
            break;
        if (ring_overlap(v, q->iova, q->size) || pretrace_map(v, q) ||
            n == VN_RUN_MAX)
            return -1;
        m[n++] = q;
    }
    if (n <= f)
        return -1;
    uint32_t first = 0, last = 0; /* links within each candidate block */
    for (uint32_t j = 0; j + 1 < f; j++) {
        first += frag_follows(m[j], m[j + 1]);
        last += frag_follows(m[n - f + j], m[n - f + j + 1]);
    }
    uint32_t k = f;
    v->run_cpu = (int)r->cpu;
    if (first != last ? first > last : frag_next(v, r)) {
        v->run_tx = 0;
        v->run_rx = k - 1;
        v->run_post = 0; /* then frag_next, while the queue has room */
        return 1;
    }
    /* the model's free count may be one too many (a buffer it took for
     * another role): a refill whose first buffer is not followed in its
     * frag by the next starts a map later */
    if (k >= 2 && !frag_follows(m[n - k], m[n - k + 1]))
        k--;
    v->run_tx = n - k - 1;
    v->run_rx = k;
    v->run_post = 0;
    return 0;
}

static int vn_map_role(vn_t *v, const iosim_rec_t *r, iosim_err_t *err)
{
    int ring = ring_overlap(v, r->iova, r->size);
    if (ring < 0)
        return iosim_err_set(err,
                             "virtio-net: map of 0x%llx+0x%llx "
                             "overlaps a virtqueue ring only in part "
                             "(dev.virtio-net.*_ring_iova, ring_top)",
                             (unsigned long long)r->iova,
                             (unsigned long long)r->size);
    /* an rx refill (try_fill_recv), or a transmit of the poll's softirq
     * (refill_split); else the refill goes by the page frag */
    int rx = -1;
    if ((int)r->cpu == v->run_cpu && (v->run_tx || v->run_rx || v->run_post)) {
        rx = !v->run_tx && v->run_rx && v->rx.num_free;
        if (v->run_tx)
            v->run_tx--;
        else if (v->run_rx)
            v->run_rx--;
        else
            v->run_post--;
    } else if ((int)r->cpu == v->refill_cpu && v->rx.num_free &&
               !v->refilling && v->rx.num_free > v->refill_threshold)
        rx = refill_split(v, r);
    if (rx < 0)
        rx = (int)r->cpu == v->refill_cpu && v->rx.num_free &&
             (v->refilling || v->rx.num_free > v->refill_threshold) &&
             frag_next(v, r);
    /* a MAP the importer joined to a frame the guest sent (IOSIM_SEG_KNOWN,
     * `import qemu --pcap`: QEMU's first translation of its page came right
     * after a tx descriptor read, i.e. virtqueue_pop of the tx queue mapped
     * it or read it as an indirect table) is a tx buffer, whatever the
     * refill rules above say (it keeps its place in a run) */
    if (r->reserved & IOSIM_SEG_KNOWN)
        rx = 0;
    if (rx) {
        vn_other_record(v, r);
        v->refilling = true;
        drv_add(&v->rx, r->iova, r->size);
        v->rx.buf[v->rx.slot_head[(uint16_t)(v->rx.drv_avail - 1) % v->rx.num]]
            .len = rx_refill_len(v, r);
        v->frag_page = (r->aux + r->size - 1) & ~(VN_PAGE - 1);
        v->frag_known = true;
        if (!v->rx.num_free)
            v->refilling = false;
        return 0;
    }
    /* a tx packet: posted now, sent when QEMU's bottom half runs.  The
     * packets that arrived before its map are written first: a packet
     * that arrived after an earlier pending tx kick but before this map
     * comes after that kick's flush (rx_arrive) and before this post. */
    if (v->rx_at_arrival)
        rx_arrive(v, r);
    v->rec = r;
    if (!v->tx.num_free) { /* the driver stops its queue first: a lost
                              completion; recycle the oldest */
        net_tx_kick(v);
        if (v->tx.drv_done != v->tx.drv_avail)
            drv_detach(&v->tx, v->tx.drv_done);
    }
    if (drv_add(&v->tx, r->iova, r->size))
        return iosim_err_set(err, "virtio-net: tx ring full");
    vn_buf_t *b =
        &v->tx
             .buf[v->tx.slot_head[(uint16_t)(v->tx.drv_avail - 1) % v->tx.num]];
    b->cpu = r->cpu;
    /* libslirp's answer to this segment, as the importer replayed it */
    if ((r->reserved & IOSIM_SEG_KNOWN) && (r->reserved & IOSIM_SEG_ANSWER))
        b->answer = true;
    if (!v->tx_pending++)
        v->tx_kick_t = r->t;
    v->tx_last = *r;
    if (v->p.indirect) /* split and packed rings alike */
        return tx_indirect(v, r, err);
    return 0;
}

/* The avail slot of an rx completion's buffer (an IOVA the rx ring
 * holds, else the first posted before the trace, whose IOVA it names),
 * moved to the device's next slot: the device takes buffers in avail
 * order.  -1: not an rx buffer. */
static int rx_slot(vn_t *v, const iosim_rec_t *r)
{
    vn_vq_t *q = &v->rx;
    int s = drv_find(q, q->last_avail, q->drv_avail, r->iova);
    if (s < 0) {
        s = drv_find_unknown(q, q->last_avail, q->drv_avail);
        if (s < 0)
            return -1;
        vn_buf_t *b = &q->buf[q->slot_head[s]];
        *b = (vn_buf_t){
            .iova = r->iova, .size = r->size, .known = true, .len = b->len};
        (void)u64map_put(&q->index, r->iova, q->slot_head[s]);
        if (v->pretrace_rx)
            v->pretrace_rx--;
    }
    uint32_t next = q->last_avail % q->num;
    if ((uint32_t)s != next) {
        uint32_t h = q->slot_head[s];
        q->slot_head[s] = q->slot_head[next];
        q->slot_head[next] = h;
        q->slot_of[q->slot_head[s]] = (uint32_t)s;
        q->slot_of[h] = next;
    }
    return (int)next;
}

/* An UNMAP, the i-th record held back, the model would take as an rx
 * completion (no state changed): a buffer the rx ring holds, or, while
 * buffers posted before the trace remain, an IOVA neither ring holds and
 * no MAP of the guest ahead of it posts (vn_unmap takes that one for the
 * next pre-trace rx buffer, rx_slot), when the UNMAP records the packet's
 * arrival (aux) and no written packet waits for a further buffer whose
 * IOVA is not known yet (that one may be it).  Only the guest's records
 * and the arrival decide: the importer's explicit MAP of the buffer
 * (QEMU's pop) does not.  Without a recorded arrival a pre-trace buffer
 * stays at its unmap: estimated arrivals for them were measured worse
 * (docs/dev-virtio-net.md, "tx flushes against rx arrivals"). */
static bool rx_early(const vn_t *v, uint64_t iova);
static bool rx_unmap_ahead(const vn_t *v, size_t i, const iosim_rec_t *r)
{
    const vn_vq_t *q = &v->rx;
    if (r->kind != IOSIM_REC_UNMAP || ring_overlap(v, r->iova, r->size) ||
        drv_find(&v->tx, v->tx.drv_done, v->tx.last_avail, r->iova) >= 0)
        return false;
    if (drv_find(q, q->last_avail, q->drv_avail, r->iova) >= 0)
        return true;
    if (!v->pretrace_rx ||
        drv_find_unknown(q, q->last_avail, q->drv_avail) < 0 ||
        rx_early(v, VN_IOVA_UNKNOWN) || !r->aux)
        return false;
    uint64_t low = v->pretrace_low;
    for (size_t b = 0; b < i; b++) {
        const iosim_rec_t *m = dev_peek(v->sim, b);
        if (explicit_map(v, m, &low) || m->kind != IOSIM_REC_MAP)
            continue;
        if (m->iova < r->iova + r->size && r->iova < m->iova + m->size)
            return false; /* posted ahead: not a pre-trace buffer */
    }
    return true;
}

/* rx_at=poll: the packets of the rest of this poll (virtnet_receive's
 * loop: rx unmaps on the poll's CPU, up to napi_budget in all, until
 * another record of that CPU: the refill after the loop, a tx, a mark)
 * are received now, before the poll's first unmap. */
static void rx_poll_ahead(vn_t *v, const iosim_rec_t *first)
{
    uint32_t taken = 1; /* the first unmap's packet */
    for (size_t i = 0; taken < v->p.napi_budget; i++) {
        const iosim_rec_t *r = dev_peek(v->sim, i);
        if (!r)
            return;
        /* another CPU's work, interleaved; an invalidation is the IOMMU
         * driver's part of the unmap before it (strict: iommu_dma_unmap
         * -> the flush of the unmapped range) */
        if (r->cpu != first->cpu || r->kind == IOSIM_REC_INVAL)
            continue;
        if (!rx_unmap_ahead(v, i, r) || v->nearly >= v->early_lim)
            return;
        int s = rx_slot(v, r);
        if (s < 0)
            return;
        v->early_iova[v->nearly] = r->iova;
        v->early_idx[v->nearly++] = v->rx.last_avail;
        net_receive(v, r);
        taken++;
    }
}

/* An rx unmap already written ahead (its packet arrived earlier). */
static bool rx_early(const vn_t *v, uint64_t iova)
{
    for (uint32_t k = 0; k < v->nearly; k++)
        if (v->early_iova[k] == iova)
            return true;
    return false;
}

/* An UNMAP that may end an rx buffer: not a ring, not a posted tx one. */
static bool rx_like_unmap(const vn_t *v, const iosim_rec_t *r)
{
    return r->kind == IOSIM_REC_UNMAP && !ring_overlap(v, r->iova, r->size) &&
           drv_find(&v->tx, v->tx.drv_done, v->tx.last_avail, r->iova) < 0;
}

/* rx_at=arrival: when the packet whose buffer the rx unmap u (the i-th
 * record ahead) frees reached the device.  When the trace recorded it
 * (the UNMAP's aux, `iosim-trace import qemu --pcap`: the frame's time in
 * the netdev's dump), that time, at the latest the unmap's.  Else an
 * estimate: the poll that unmaps it began
 * at its first rx unmap u1 after the guest's last MAP (time tm); the
 * poll's first packet arrived just after tm (the peer answers the guest's
 * last transmit, which that MAP posted or the refill before it followed;
 * the host's own delay is not in the trace and counts as 0), and each
 * later packet of the poll arrived as long before its unmap as the first
 * did (packets arrive at the rate the poll takes them off the ring).  At
 * the latest, at its own unmap. */
static uint64_t rx_arrival(const vn_t *v, size_t i, const iosim_rec_t *u)
{
    /* recorded: the netdev's dump saw the frame reach the device
     * (traces/FORMAT.md §4, UNMAP aux) */
    if (u->aux)
        return u->aux < u->t ? u->aux : u->t;
    /* the guest's last MAP before u (tm) and the first rx completion
     * after it (u1), among the records held back */
    uint64_t tm = v->last_map_t, u1 = u->t, low = v->pretrace_low;
    bool map_ahead = false, u1_seen = false;
    for (size_t b = 0; b < i; b++) {
        const iosim_rec_t *q = dev_peek(v->sim, b);
        if (explicit_map(v, q, &low))
            continue;
        if (q->kind == IOSIM_REC_MAP) {
            tm = q->t;
            map_ahead = true;
            u1 = u->t;
            u1_seen = false;
        } else if (!u1_seen && rx_like_unmap(v, q)) {
            u1 = q->t;
            u1_seen = true;
        }
    }
    if (!map_ahead && v->poll_started)
        u1 = v->poll_u1;
    uint64_t a = tm + 1 + (u->t - u1);
    return a < u->t ? a : u->t;
}

/* rx_at=arrival: every rx packet that arrived by the time of the record
 * being served (after its own effects) is written now, in the order the
 * device takes buffers (FIFO); stops at a packet that has not arrived
 * yet, or whose buffer is not posted yet.  A buffer posted before the
 * trace is written ahead of its unmap only at an arrival the trace
 * recorded (rx_unmap_ahead); the estimate's leaves it at its unmap. */
static void rx_arrive(vn_t *v, const iosim_rec_t *cur)
{
    v->rec = cur;
    for (size_t i = 0;; i++) {
        const iosim_rec_t *r = dev_peek(v->sim, i);
        if (!r)
            return;
        if (!rx_like_unmap(v, r) || rx_early(v, r->iova))
            continue;
        uint64_t a;
        if (!rx_unmap_ahead(v, i, r) || v->nearly >= v->early_lim ||
            (a = rx_arrival(v, i, r)) > cur->t)
            return;
        if (rx_slot(v, r) < 0)
            return;
        /* a packet that arrived after the guest kicked the tx queue:
         * QEMU's tx bottom half (scheduled by the kick) has flushed the
         * packets posted by then (virtio_net_handle_tx_bh ->
         * qemu_bh_schedule; the main loop runs scheduled bottom halves
         * (util/aio-posix.c aio_dispatch: aio_bh_poll) before it polls
         * the backend that brings the packet) */
        if (v->tx_pending && a > v->tx_kick_t)
            net_tx_kick(v);
        v->early_iova[v->nearly] = r->iova;
        v->early_idx[v->nearly++] = v->rx.last_avail;
        net_receive(v, r);
    }
}

/* A backend's answer inside a tx element: the next rx packet in the
 * order the device takes buffers (the next rx completion ahead whose
 * buffer is posted and known) is written now.  None when no such
 * completion is in view (the answer's buffer is unmapped past the
 * look-ahead, or was posted before the trace: its IOVA is known only at
 * its unmap, and an unknown IOVA ahead may be another CPU's buffer). */
static void rx_write_next(vn_t *v)
{
    for (size_t i = 0;; i++) {
        const iosim_rec_t *r = dev_peek(v->sim, i);
        if (!r)
            return;
        /* not a buffer written already, nor one of the tx ring (the
         * packets of this flush not yet pushed are posted there) */
        if (!rx_like_unmap(v, r) || rx_early(v, r->iova) ||
            drv_find(&v->tx, v->tx.drv_done, v->tx.drv_avail, r->iova) >= 0)
            continue;
        if (!rx_unmap_ahead(v, i, r) || v->nearly >= v->early_lim ||
            rx_slot(v, r) < 0)
            return;
        v->early_iova[v->nearly] = r->iova;
        v->early_idx[v->nearly++] = v->rx.last_avail;
        net_receive(v, r);
        return;
    }
}

/* the rx completion of the record being served: a poll's first one
 * after a MAP starts the poll (rx_at=arrival) */
static void rx_done(vn_t *v, const iosim_rec_t *r)
{
    if (r->reserved) /* the packet's length, when the trace has it */
        rx_ewma_add(v, r->reserved);
    v->refill_cpu = r->cpu;
    if (!v->poll_started) {
        v->poll_started = true;
        v->poll_u1 = r->t;
    }
}

static int vn_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    vn_t *v = state;
    vn_other_record(v, r);
    if (ring_overlap(v, r->iova, r->size))
        goto arrive;
    int s = drv_find(&v->tx, v->tx.drv_done, v->tx.last_avail, r->iova);
    if (s >= 0) { /* tx completion: free_old_xmit_skbs */
        uint32_t head = v->tx.slot_head[s];
        vn_ind_t *in = &v->tx.ind[head];
        /* an indirect packet: detach_buf_split unmaps its table and its
         * entries in one go; the head is free once the last is unmapped */
        if (in->n) {
            index_del(&v->tx, r->iova, head);
            if (--in->left)
                goto arrive;
        }
        drv_detach(&v->tx, (uint16_t)s);
        goto arrive;
    }
    vn_vq_t *q = &v->rx;
    /* a buffer the device wrote ahead of its unmap; else a packet's
     * further buffer posted before the trace, when the IOVA is none the
     * rx ring knows */
    uint32_t k = 0;
    while (k < v->nearly && v->early_iova[k] != r->iova)
        k++;
    if (k == v->nearly && v->pretrace_rx &&
        drv_find(q, q->last_avail, q->drv_avail, r->iova) < 0) {
        k = 0;
        while (k < v->nearly && v->early_iova[k] != VN_IOVA_UNKNOWN)
            k++;
        /* QEMU translated its pages at the pop; its IOVA is known only
         * now: the same translations, at its unmap */
        if (k < v->nearly) {
            v->pretrace_rx--;
            acc(v, q, W_BUF, r->iova, r->size, true);
        }
    }
    if (k < v->nearly) {
        drv_detach(q, v->early_idx[k]);
        v->nearly--;
        memmove(&v->early_iova[k], &v->early_iova[k + 1],
                (v->nearly - k) * sizeof *v->early_iova);
        memmove(&v->early_idx[k], &v->early_idx[k + 1],
                (v->nearly - k) * sizeof *v->early_idx);
        rx_done(v, r);
        goto arrive;
    }
    if (rx_slot(v, r) < 0)
        goto arrive; /* a mapping of no known role made before the trace */
    uint16_t idx = q->last_avail;
    net_receive(v, r);
    rx_done(v, r);
    if (v->rx_at_poll)
        rx_poll_ahead(v, r);
    if (v->rx_at_arrival)
        rx_arrive(v, r); /* packets behind it, before its unmap */
    drv_detach(q, idx);
    return 0;
arrive:
    if (v->rx_at_arrival)
        rx_arrive(v, r);
    return 0;
}

static int vn_mark(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    vn_other_record(state, r);
    if (((vn_t *)state)->rx_at_arrival)
        rx_arrive(state, r);
    return 0;
}

static int vn_finish(void *state, iosim_err_t *err)
{
    (void)err;
    vn_t *v = state;
    if (v->rec)
        net_tx_kick(v);
    return 0;
}

const dev_model_ops_t dev_model_virtio_net = {
    .name = "virtio-net",
    .summary = "QEMU's emulated virtio-net (split or packed rings, "
               "mergeable rx): "
               "every ring field and buffer page it translates, per rx "
               "completion and tx kick",
    .source = "QEMU 7.2 hw/virtio/virtio.c, hw/net/virtio-net.c; Linux 6.1 "
              "drivers/net/virtio_net.c, drivers/virtio/virtio_ring.c "
              "(docs/dev-virtio-net.md)",
    .params = {virtio_net_rows, sizeof(struct dev_virtio_net_params), NULL},
    .create = vn_create,
    .destroy = vn_destroy,
    .map = vn_map,
    .unmap = vn_unmap,
    .mark = vn_mark,
    .inval = vn_inval,
    .finish = vn_finish,
};
