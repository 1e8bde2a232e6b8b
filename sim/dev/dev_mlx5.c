/* dev_mlx5.c — the `mlx5` device model: a ConnectX-5/6 NIC under the
 * Linux mlx5e driver (6.12 by default, the v6.0 rx page handling as an
 * option), driven by the trace's MAP / UNMAP / MARK records.  Research
 * and sources in docs/dev-mlx5.md.
 *
 * Concepts:
 *   - Channels (dev.mlx5.channels): one rx queue (RQ + its CQ) and one
 *     send queue (SQ + its CQ) each (en_main.c mlx5e_open_channel).  A
 *     record belongs to channel cpu % channels (one channel per core,
 *     XPS picks the SQ of the sending cpu: en_main.c mlx5e_set_xps).
 *   - Roles from maps alone (ftrace iommu:map has no direction and no
 *     owner), decided in this order:
 *       1. ring: with dev.mlx5.rings = traced, the first maps of the
 *          trace are the coherent rings of the channels, in 4 KB pages
 *          (alloc.c mlx5_frag_buf_alloc_node: one dma_alloc_coherent per
 *          PAGE_SIZE fragment), channel by channel, each: rx CQ, RQ
 *          work queue, tx CQ, SQ work queue (sizes below).  A map of n
 *          pages counts as n ring pages.
 *       2. rx page: a 4 KB map while a channel's rx page pool holds fewer
 *          than rx_wqes x pages_per_wqe pages (free + posted in WQEs):
 *          page_pool maps order-0 pages one by one (page_pool.c
 *          page_pool_dma_map, pool order 0: en_main.c mlx5e_alloc_rq).
 *          The channel is the record's (cpu % channels) if it is short,
 *          else the next short one.
 *       3. tx buffer: any other map of at most dev.mlx5.tx_map_max bytes
 *          (an skb head or fragment: en_tx.c mlx5e_txwqe_build_dsegs,
 *          one dma_map_single / skb_frag_dma_map per segment).
 *       Anything else has no role: an error.
 *   - Rx (striding RQ, en_rx.c mlx5e_alloc_rx_mpwqe and
 *     mlx5e_handle_rx_cqe_mpwrq): a WQE covers pages_per_wqe pages,
 *     divided into strides of dev.mlx5.stride bytes; packets land back to
 *     back, each taking ceil(packet_bytes / stride) strides; a packet
 *     that does not fit the WQE's remaining strides closes it with a
 *     filler CQE (mpwrq_is_filler_cqe) and starts the next WQE.  Device
 *     accesses, in order: when it starts a WQE, a wqe_bytes read of the
 *     WQE in the RQ ring (slot = WQE index); per packet, the data write
 *     into the WQE's pages at its stride offset, then a cqe_bytes write
 *     of the next rx CQE (CQ ring, cyclic); per filler, one CQE write.
 *   - Rx packets arrive (a) dev.mlx5.rx_per_mark per MARK request record,
 *     on the record's channel (the request's packet), and (b) at
 *     dev.mlx5.rx_gbps between records (packet_bytes each, round robin
 *     over the channels), delivered at the next record.  A packet that
 *     finds no posted WQE is dropped (a NIC's out-of-buffer drop).
 *   - Rx page life (dev.mlx5.rx_pages):
 *       page-pool (6.12): the pool maps a page once and keeps it mapped
 *         while it cycles (PP_FLAG_DMA_MAP, page_pool.c page_pool_dma_map;
 *         unmapped only in page_pool_return_page when it leaves the
 *         pool).  A consumed WQE's pages go back to the pool's free FIFO
 *         and are posted again (mlx5e_free_rx_mpwqe, then
 *         mlx5e_post_rx_mpwqes), so the device writes the same IOVAs
 *         over and over and the trace shows no rx unmap for them.
 *       unmap-per-page (v6.0, cache full or missing: en_rx.c
 *         mlx5e_page_release_dynamic -> mlx5e_page_dma_unmap): a consumed
 *         WQE's pages are released for good (the trace unmaps them) and
 *         the WQE is posted again only with pages mapped afterwards.
 *     A rx page the trace unmaps leaves the pool; a posted page that is
 *     unmapped is skipped by the device (nothing written there).
 *   - MARK repost (iova, 4 KB): the driver posts a page it kept mapped
 *     (v6.0 en_rx.c mlx5e_page_alloc_pool -> mlx5e_rx_cache_get: no map
 *     record).  mlx5e: a page the pool released is free again (so
 *     unmap-per-page + reposts is the v6.0 cache); gen-nic: the page
 *     joins the channel's rx pages like a mapped one.  No tracepoint
 *     gives it: gen nic --driver-only --rx-cache writes it
 *     (docs/dev-mlx5.md section 1).
 *   - Tx (en_tx.c mlx5e_sq_xmit_wqe, mlx5e_poll_tx_cq): each tx map is
 *     sent as it is mapped: a wqe_bytes read of the next SQ WQE, the read
 *     of the whole mapped buffer, a cqe_bytes write of the next tx CQE.
 *   - dev.mlx5.profile: mlx5e = the rules above; gen-nic = the device
 *     half of `iosim-trace gen nic` for its --driver-only traces (roles
 *     from map prot, gen nic's ring order and wrap, WQEs from the rx
 *     pages in map order, no filler CQE, packets wait for a WQE's pages;
 *     "gen-nic profile" below, docs/dev-mlx5.md section 5).
 *   - TLPs: every access is cut at 4 KB page borders (a PCIe request may
 *     not cross one: PCIe Base spec 2.2.7) and into pieces of at most
 *     dev.mlx5.mps bytes (writes) or dev.mlx5.mrrs bytes (reads) (Device
 *     Control register); each piece is one dev_access (one translation).
 * Assumptions:
 *   - Each tx map is one packet with one data segment (a multi-fragment
 *     skb counts one WQE fetch and one CQE per fragment); the device
 *     reads the whole mapped range (bytes are an upper bound, the
 *     translations per page exact: the map covers only the buffer's
 *     pages); a CQE per tx WQE (UNVERIFIED: mlx5e may complete several
 *     WQEs with one CQE).
 *   - The page pool holds exactly the pages the ring needs; the stack
 *     gives rx pages back before the ring needs them again.
 *   - Ring entries are written in index order from slot 0; the device
 *     writes rx data at the stride's start (headroom ignored).
 * Not modeled: UMR WQEs on the ICOSQ (6.12 posts each rx WQE's page list
 *   through one: the device reads it), doorbell records, the async ICOSQ
 *   and XDP SQs and their CQs (their coherent pages, if traced, shift
 *   the ring count: use dev.mlx5.rings=none then), CQE compression, LRO
 *   / SHAMPO, page pool growth past the ring (pages the stack holds:
 *   classified as tx), the v6.0 rx page cache's recycling in a trace
 *   without MARK reposts (a real capture: its recycled pages are
 *   neither unmapped nor remapped, so unmap-per-page starves; page-pool
 *   is the closer of the two for them), TX inline headers and BlueFlame writes,
 * interrupt moderation.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "config/config.h"
#include "dev/dev.h"

/* mlx5 (dev_mlx5.c): ConnectX-5/6, striding rx queue, page_pool */
struct dev_mlx5_params {
    uint32_t channels;             /* rx/tx queue pairs in use                */
    char rx_pages[IOSIM_NAME_LEN]; /* page-pool | unmap-per-page    */
    char rings[IOSIM_NAME_LEN];    /* traced | none                 */
    uint32_t rx_wqes;              /* multi-packet WQEs per rx queue          */
    uint32_t pages_per_wqe;        /* 4 KB pages one rx WQE covers            */
    uint32_t stride;               /* bytes per stride of an rx WQE           */
    uint32_t rx_cqes;              /* entries of an rx completion queue       */
    uint32_t tx_wqes;              /* 64 B WQE slots of a send queue          */
    uint32_t tx_cqes;              /* entries of a tx completion queue        */
    uint32_t wqe_bytes;            /* bytes the device reads per WQE          */
    uint32_t cqe_bytes;            /* bytes the device writes per CQE         */
    uint32_t mps;                  /* PCIe max payload size (write TLPs)      */
    uint32_t mrrs;                 /* PCIe max read request size (read TLPs)  */
    uint32_t packet_bytes;         /* bytes of one received packet            */
    uint32_t rx_per_mark;          /* rx packets per MARK request record      */
    double rx_gbps;                /* rx packets arriving at this rate; 0 off */
    uint64_t tx_map_max;           /* largest map taken as a tx buffer        */
    char profile[IOSIM_NAME_LEN];  /* mlx5e | gen-nic               */
    uint32_t tx_bytes;             /* bytes read of a tx map; 0 = the map     */
    bool stagger_wqes;             /* gen-nic: channels' first WQEs offset    */
};

#define OFF(field) offsetof(struct dev_mlx5_params, field)
#define PAGE 4096u

// clang-format off
static const iosim_param_t mlx5_rows[] = {
    {"dev.mlx5.channels", IOSIM_P_U32, OFF(channels), "1", 1, 1024,
     NULL, "mlx5: channels (rx queue + send queue pairs) in use",
     "en_main.c mlx5e_build_nic_params: one channel per completion vector "
     "(ethtool -L); 1 for a single-flow test, set to the traced machine's"},
    {"dev.mlx5.rx_pages", IOSIM_P_STR, OFF(rx_pages), "page-pool", 1,
     0, "page-pool|unmap-per-page",
     "mlx5: rx page life: page-pool = mapped once, recycled mapped (6.12); "
     "unmap-per-page = unmapped at release, new pages mapped (v6.0 without "
     "its page cache)",
     "6.12 en_main.c mlx5e_alloc_rq (PP_FLAG_DMA_MAP), page_pool.c "
     "page_pool_dma_map / page_pool_return_page; v6.0 en_rx.c "
     "mlx5e_page_release_dynamic (docs/dev-mlx5.md)"},
    {"dev.mlx5.rings", IOSIM_P_STR, OFF(rings), "traced", 1, 0,
     "traced|none|runs",
     "mlx5: traced = the trace's first maps are the channels' coherent "
     "rings (rx CQ, RQ, tx CQ, SQ each); none = no ring maps in the trace "
     "(no WQE reads or CQE writes); runs (gen-nic profile) = the trace's "
     "first read-write maps are the rings, each one run of consecutive "
     "4 KB IOVAs, sized by the trace (rx_wqes, rx_cqes, tx_wqes, tx_cqes "
     "unused)",
     "alloc.c mlx5_frag_buf_alloc_node (4 KB coherent pieces), en_main.c "
     "mlx5e_open_channel order simplified (UNVERIFIED against a capture)"},
    {"dev.mlx5.rx_wqes", IOSIM_P_U32, OFF(rx_wqes), "8", 1, 65536,
     NULL, "mlx5: multi-packet WQEs per rx queue",
     "en/params.c mlx5e_mpwqe_get_log_rq_size: 1024 frames (default "
     "ring) / 128 packets per WQE = 8 = 2^MLX5E_PARAMS_MINIMUM_LOG_RQ_SIZE_MPW"},
    {"dev.mlx5.pages_per_wqe", IOSIM_P_U32, OFF(pages_per_wqe), "64",
     1, 4096, NULL, "mlx5: 4 KB pages one rx WQE covers",
     "en.h MLX5_MPWRQ_LOG_WQE_SZ 18: 256 KB per WQE = 64 pages"},
    {"dev.mlx5.stride", IOSIM_P_U32, OFF(stride), "2048", 64, 65536,
     NULL, "mlx5: bytes per stride (a power of two)",
     "en/params.c mlx5e_mpwqe_get_log_stride_size: linear SKB at MTU 1500: "
     "roundup_pow_of_two(64 headroom + 1536 + 320 skb_shared_info) = 2048"},
    {"dev.mlx5.rx_cqes", IOSIM_P_U32, OFF(rx_cqes), "1024", 1,
     1u << 24, NULL, "mlx5: entries of an rx completion queue",
     "en/params.c mlx5e_build_rx_cq_param: log rq size + log strides per "
     "WQE = 3 + 7 (UNVERIFIED line by line)"},
    {"dev.mlx5.tx_wqes", IOSIM_P_U32, OFF(tx_wqes), "1024", 1,
     1u << 24, NULL, "mlx5: 64 B WQE slots of a send queue",
     "en.h MLX5E_PARAMS_DEFAULT_LOG_SQ_SIZE 10"},
    {"dev.mlx5.tx_cqes", IOSIM_P_U32, OFF(tx_cqes), "1024", 1,
     1u << 24, NULL, "mlx5: entries of a tx completion queue",
     "en/params.c mlx5e_build_tx_cq_param: log_sq_size (UNVERIFIED)"},
    {"dev.mlx5.wqe_bytes", IOSIM_P_U32, OFF(wqe_bytes), "64", 1,
     4096, NULL, "mlx5: bytes the device reads per WQE (rx and tx)",
     "ConnectX PRM: send WQE basic block (WQEBB) 64 B; rx MPWQE 64 B "
     "(UNVERIFIED: en/params.c mlx5e_get_rqwq_log_stride may give 32)"},
    {"dev.mlx5.cqe_bytes", IOSIM_P_U32, OFF(cqe_bytes), "64", 1,
     4096, NULL, "mlx5: bytes the device writes per CQE",
     "include/linux/mlx5/device.h struct mlx5_cqe64 (64 B CQEs)"},
    {"dev.mlx5.mps", IOSIM_P_U32, OFF(mps), "256", 128, 4096, NULL,
     "mlx5: PCIe max payload size: largest write TLP (a power of two)",
     "PCIe Base spec, Device Control register (Max_Payload_Size); 256 B "
     "typical on Xeon root ports (UNVERIFIED for the seeds' host)"},
    {"dev.mlx5.mrrs", IOSIM_P_U32, OFF(mrrs), "512", 128, 4096,
     NULL, "mlx5: PCIe max read request size: largest read (a power of two)",
     "PCIe Base spec, Device Control register (Max_Read_Request_Size); "
     "512 B Linux default (UNVERIFIED for the seeds' host)"},
    {"dev.mlx5.packet_bytes", IOSIM_P_U32, OFF(packet_bytes), "1514",
     1, 262144, NULL, "mlx5: bytes of one received packet (frame, no FCS)",
     "MTU 1500 + ETH_HLEN 14"},
    {"dev.mlx5.rx_per_mark", IOSIM_P_U32, OFF(rx_per_mark), "1", 0,
     1u << 20, NULL, "mlx5: rx packets per MARK request record (0 = none)",
     "UNVERIFIED: a request of the load generator as one packet"},
    {"dev.mlx5.rx_gbps", IOSIM_P_F64, OFF(rx_gbps), "0", 0, 1000,
     NULL, "mlx5: rx line rate of packets arriving between records "
     "(0 = off)", "design choice: a placeholder for a load the trace "
     "does not show"},
    {"dev.mlx5.tx_map_max", IOSIM_P_U64, OFF(tx_map_max), "69632",
     4096, 1ull << 36, NULL,
     "mlx5: largest map taken as a tx buffer (bytes)",
     "GSO_MAX_SIZE 64 KB + one page of offset (UNVERIFIED with BIG TCP)"},
    {"dev.mlx5.profile", IOSIM_P_STR, OFF(profile), "mlx5e", 1, 0,
     "mlx5e|gen-nic",
     "mlx5: mlx5e = the Linux driver's rules above (real captures); "
     "gen-nic = the device half of `iosim-trace gen nic` (its "
     "--driver-only traces: roles from map prot, rings RQ/CQ/SQ/tx CQ "
     "wrapping at their page end, no filler CQE, WQEs from the pages in "
     "map order)",
     "sim/trace/gen_nic_rx.c rx_strides / rx_pages, gen_nic_rings.c "
     "nic_rings_create, gen_nic_tx.c nic_tx_packet "
     "(the generator this profile replaces; tests/cli/"
     "gen_nic_driver_only.sh checks the two give the same accesses)"},
    {"dev.mlx5.tx_bytes", IOSIM_P_U32, OFF(tx_bytes), "0", 0,
     1u << 30, NULL,
     "mlx5: bytes the device reads of each tx map (0 = the whole map)",
     "design choice: ftrace's map carries the mapped size, not the "
     "packet's; gen nic's ACKs map a page and send --ack-bytes of it"},
    {"dev.mlx5.stagger_wqes", IOSIM_P_BOOL, OFF(stagger_wqes),
     "false", 0, 0, NULL,
     "mlx5 (gen-nic profile): channel i starts i x (packets per WQE) / "
     "channels packets into its first WQE",
     "gen nic --stagger-wqes (sim/trace/gen_nic.c: each channel's place "
     "in its WQE follows its own packet history, UNVERIFIED)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

/* ---- page table: IOVA page -> rx page state ------------------------- */

enum { ST_EMPTY = 0, ST_FREE, ST_POSTED, ST_RELEASED, ST_TOMB };

typedef struct pent {
    uint64_t key; /* iova >> 12 */
    uint64_t gen; /* map generation (the mapping, not the IOVA) */
    uint32_t ch;
    uint8_t st;
} pent_t;

typedef struct pg {
    uint64_t iova;
    uint64_t gen; /* 0 = empty slot */
} pg_t;

typedef struct ring {
    uint64_t *page;   /* IOVA of each 4 KB page, in ring order */
    uint32_t npages;  /* pages the ring spans */
    uint32_t known;   /* pages the trace has mapped so far */
    uint32_t entries; /* entries of entry_bytes */
    uint32_t entry_bytes;
    uint64_t idx; /* next entry the device uses */
} ring_t;

typedef struct chan {
    ring_t rxcq, rq, txcq, sq;
    pg_t *fifo; /* free pages of the pool (FIFO) */
    uint32_t fifo_head, fifo_len;
    pg_t *wqe;                 /* rx_wqes x pages_per_wqe posted pages */
    uint32_t head;             /* WQE the device fills */
    uint32_t posted;           /* WQEs posted */
    uint32_t stride_at;        /* next stride of the head WQE */
    uint32_t n_free, n_posted; /* valid pages in fifo / in posted WQEs */
    /* gen-nic profile: rx pages in map order, the open WQE */
    uint64_t *gq; /* posted pages not yet in a WQE (circular) */
    size_t gq_head, gq_len, gq_cap;
    uint64_t *gwqe; /* pages of the open WQE */
    bool gopen;
    uint64_t goff;  /* bytes of the open WQE used */
    uint64_t gskip; /* --stagger-wqes: bytes of the first WQE used */
    uint64_t gwait; /* packets waiting for a WQE's pages */
} chan_t;

typedef struct mlx5 {
    iosim_sim_t *sim;
    struct dev_mlx5_params p;
    bool pool_mode;
    bool gen_nic;     /* dev.mlx5.profile = gen-nic */
    uint32_t strides; /* strides per WQE */
    uint32_t target;  /* pool pages per channel */
    uint32_t fifo_cap;
    uint64_t ring_left; /* ring pages still to come from the trace */
    uint32_t ring_ch, ring_which;
    bool runs;      /* dev.mlx5.rings = runs */
    bool runs_open; /* runs: the trace is still mapping rings */
    chan_t *ch;
    pent_t *tab;
    size_t tab_cap, tab_used; /* used counts tombstones too */
    uint64_t gen;
    /* rx arrivals by rate */
    bool t_seen;
    uint64_t t_last;
    double rx_due;
    uint32_t rr;
    uint64_t drops; /* packets that found no posted WQE */
} mlx5_t;

static size_t tab_slot(const mlx5_t *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (m->tab_cap - 1);
}

static pent_t *tab_find(mlx5_t *m, uint64_t iova)
{
    uint64_t key = iova >> 12;
    for (size_t i = tab_slot(m, key);; i = (i + 1) & (m->tab_cap - 1)) {
        pent_t *e = &m->tab[i];
        if (e->st == ST_EMPTY)
            return NULL;
        if (e->st != ST_TOMB && e->key == key)
            return e;
    }
}

static int tab_grow(mlx5_t *m, iosim_err_t *err);

static pent_t *tab_insert(mlx5_t *m, uint64_t iova, iosim_err_t *err)
{
    if ((m->tab_used + 1) * 2 > m->tab_cap && tab_grow(m, err))
        return NULL;
    uint64_t key = iova >> 12;
    size_t i = tab_slot(m, key);
    while (m->tab[i].st != ST_EMPTY && m->tab[i].st != ST_TOMB)
        i = (i + 1) & (m->tab_cap - 1);
    if (m->tab[i].st == ST_EMPTY)
        m->tab_used++;
    m->tab[i] = (pent_t){.key = key};
    return &m->tab[i];
}

static int tab_grow(mlx5_t *m, iosim_err_t *err)
{
    size_t old_cap = m->tab_cap;
    pent_t *old = m->tab;
    size_t cap = old_cap ? old_cap : 1024;
    size_t live = 0;
    for (size_t i = 0; i < old_cap; i++)
        live += old[i].st != ST_EMPTY && old[i].st != ST_TOMB;
    while ((live + 1) * 4 > cap)
        cap *= 2;
    pent_t *t = calloc(cap, sizeof *t);
    if (!t)
        return iosim_err_set(err, "mlx5: out of memory");
    m->tab = t;
    m->tab_cap = cap;
    m->tab_used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].st == ST_EMPTY || old[i].st == ST_TOMB)
            continue;
        size_t j = tab_slot(m, old[i].key);
        while (t[j].st != ST_EMPTY)
            j = (j + 1) & (cap - 1);
        t[j] = old[i];
        m->tab_used++;
    }
    free(old);
    return 0;
}

/* ---- accesses ------------------------------------------------------- */

/* size bytes at iova as TLPs: cut at 4 KB borders and at max bytes. */
static void emit(mlx5_t *m, const iosim_rec_t *r, uint64_t iova, uint64_t size,
                 bool write)
{
    uint32_t max = write ? m->p.mps : m->p.mrrs;
    while (size) {
        uint64_t room = PAGE - (iova & (PAGE - 1));
        uint64_t n = size < room ? size : room;
        if (n > max)
            n = max;
        dev_access(m->sim, r, iova, n, write);
        iova += n;
        size -= n;
    }
}

/* entry idx % entries of a ring, if its page is mapped */
static void ring_access(mlx5_t *m, const iosim_rec_t *r, ring_t *g,
                        uint64_t idx, bool write)
{
    if (!g->entries) /* rings=runs: a ring the trace did not map */
        return;
    uint64_t byte = (idx % g->entries) * g->entry_bytes;
    uint64_t pg = byte / PAGE;
    if (pg >= g->known || !dev_live(m->sim, g->page[pg]))
        return;
    emit(m, r, g->page[pg] + byte % PAGE, g->entry_bytes, write);
}

static bool pg_valid(mlx5_t *m, const pg_t *p, uint8_t st)
{
    if (!p->gen)
        return false;
    pent_t *e = tab_find(m, p->iova);
    return e && e->gen == p->gen && e->st == st;
}

/* ---- rx ------------------------------------------------------------- */

static uint32_t deficit(const mlx5_t *m, const chan_t *c)
{
    uint32_t have = c->n_free + c->n_posted;
    return have < m->target ? m->target - have : 0;
}

static void fifo_push(mlx5_t *m, chan_t *c, pg_t p)
{
    if (c->fifo_len == m->fifo_cap) { /* drop stale slots */
        uint32_t n = 0;
        for (uint32_t i = 0; i < c->fifo_len; i++) {
            pg_t q = c->fifo[(c->fifo_head + i) % m->fifo_cap];
            if (pg_valid(m, &q, ST_FREE))
                c->fifo[(c->fifo_head + n++) % m->fifo_cap] = q;
        }
        c->fifo_len = n;
    }
    c->fifo[(c->fifo_head + c->fifo_len++) % m->fifo_cap] = p;
}

/* the driver posts WQEs while it has the pages (mlx5e_post_rx_mpwqes) */
static void post(mlx5_t *m, chan_t *c)
{
    uint32_t ppw = m->p.pages_per_wqe;
    while (c->posted < m->p.rx_wqes && c->n_free >= ppw) {
        uint32_t slot = (c->head + c->posted) % m->p.rx_wqes;
        pg_t *w = &c->wqe[(size_t)slot * ppw];
        for (uint32_t k = 0; k < ppw;) {
            pg_t p = c->fifo[c->fifo_head];
            c->fifo_head = (c->fifo_head + 1) % m->fifo_cap;
            c->fifo_len--;
            if (!pg_valid(m, &p, ST_FREE))
                continue;
            tab_find(m, p.iova)->st = ST_POSTED;
            w[k++] = p;
        }
        c->n_free -= ppw;
        c->n_posted += ppw;
        c->posted++;
    }
}

/* the device is done with the head WQE (mlx5e_free_rx_mpwqe) */
static void wqe_done(mlx5_t *m, chan_t *c)
{
    uint32_t ppw = m->p.pages_per_wqe;
    pg_t *w = &c->wqe[(size_t)c->head * ppw];
    for (uint32_t k = 0; k < ppw; k++) {
        if (pg_valid(m, &w[k], ST_POSTED)) {
            pent_t *e = tab_find(m, w[k].iova);
            c->n_posted--;
            if (m->pool_mode) {
                e->st = ST_FREE;
                c->n_free++;
                fifo_push(m, c, w[k]);
            } else {
                e->st = ST_RELEASED;
            }
        }
        w[k].gen = 0;
    }
    c->head = (c->head + 1) % m->p.rx_wqes;
    c->posted--;
    c->stride_at = 0;
    post(m, c);
}

static void rx_packet(mlx5_t *m, const iosim_rec_t *r, uint32_t ci)
{
    chan_t *c = &m->ch[ci];
    uint32_t need = (m->p.packet_bytes + m->p.stride - 1) / m->p.stride;
    if (c->posted && c->stride_at + need > m->strides) {
        ring_access(m, r, &c->rxcq, c->rxcq.idx++, true); /* filler CQE */
        wqe_done(m, c);
    }
    if (!c->posted) {
        m->drops++;
        return;
    }
    if (c->stride_at == 0) /* the device fetches the WQE it starts */
        ring_access(m, r, &c->rq, c->head, false);
    const pg_t *w = &c->wqe[(size_t)c->head * m->p.pages_per_wqe];
    uint64_t off = (uint64_t)c->stride_at * m->p.stride;
    uint64_t left = m->p.packet_bytes;
    while (left) {
        uint64_t pg = off / PAGE, in = off % PAGE;
        uint64_t n = PAGE - in < left ? PAGE - in : left;
        if (pg_valid(m, &w[pg], ST_POSTED))
            emit(m, r, w[pg].iova + in, n, true);
        off += n;
        left -= n;
    }
    ring_access(m, r, &c->rxcq, c->rxcq.idx++, true);
    c->stride_at += need;
    if (c->stride_at == m->strides)
        wqe_done(m, c);
}

/* packets that arrived at dev.mlx5.rx_gbps since the last record */
static void rx_by_rate(mlx5_t *m, const iosim_rec_t *r)
{
    if (m->p.rx_gbps <= 0)
        return;
    if (!m->t_seen || r->t < m->t_last) {
        m->t_seen = true;
        m->t_last = r->t;
        return;
    }
    m->rx_due +=
        (double)(r->t - m->t_last) * m->p.rx_gbps / (8.0 * m->p.packet_bytes);
    m->t_last = r->t;
    while (m->rx_due >= 1.0) {
        m->rx_due -= 1.0;
        rx_packet(m, r, m->rr);
        m->rr = (m->rr + 1) % m->p.channels;
    }
}

/* ---- records -------------------------------------------------------- */

/* ring `which` of a channel in the order its pages are mapped: mlx5e
 * (above) rx CQ, RQ, tx CQ, SQ; gen nic (nic_rings_create) RQ, rx CQ, SQ,
 * tx CQ */
static ring_t *ring_of(const mlx5_t *m, chan_t *c, uint32_t which)
{
    ring_t *order[4] = {&c->rxcq, &c->rq, &c->txcq, &c->sq};
    ring_t *gen[4] = {&c->rq, &c->rxcq, &c->sq, &c->txcq};
    return m->gen_nic ? gen[which] : order[which];
}

static void ring_take(mlx5_t *m, uint64_t iova)
{
    ring_t *g = ring_of(m, &m->ch[m->ring_ch], m->ring_which);
    while (g->known == g->npages) { /* next ring (sizes are >= 1 page) */
        if (++m->ring_which == 4) {
            m->ring_which = 0;
            m->ring_ch++;
        }
        g = ring_of(m, &m->ch[m->ring_ch], m->ring_which);
    }
    g->page[g->known++] = iova;
    m->ring_left--;
}

/* rings=runs: page iova of a read-write map at the start of the trace.
 * gen nic maps each ring as one range of consecutive IOVAs and takes the
 * next ring's range below it (ring_map, top-down), so a page that does
 * not follow the last one starts the next ring; the ring's entries fill
 * its pages (the gen-nic wrap). */
static int ring_run_take(mlx5_t *m, uint64_t iova, iosim_err_t *err)
{
    ring_t *g = ring_of(m, &m->ch[m->ring_ch], m->ring_which);
    if (g->known && iova != g->page[g->known - 1] + PAGE) {
        if (++m->ring_which == 4) {
            m->ring_which = 0;
            m->ring_ch++;
        }
        if (m->ring_ch == m->p.channels)
            return iosim_err_set(err,
                                 "mlx5: read-write map at iova 0x%" PRIx64
                                 " starts a ring run past the "
                                 "%" PRIu32 " channels' 4 rings "
                                 "(dev.mlx5.rings runs)",
                                 iova, m->p.channels);
        g = ring_of(m, &m->ch[m->ring_ch], m->ring_which);
    }
    if (g->known == g->npages) {
        size_t cap = g->npages;
        if (g->npages == UINT32_MAX ||
            vec_reserve(&g->page, &cap, (size_t)g->known + 1, 4))
            return iosim_err_set(err, "mlx5: out of memory");
        g->npages = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    }
    g->page[g->known++] = iova;
    g->entries = g->known * (PAGE / g->entry_bytes);
    return 0;
}

/* ---- gen-nic profile ------------------------------------------------ */
/* The device half of sim/trace/gen_nic*.c, for its --driver-only traces:
 *   - roles from the map's prot (gen nic maps rx pages write-only, tx
 *     buffers read-only, rings read-write): after the rings, a 4 KB
 *     write-only map is an rx page of channel cpu % channels, appended
 *     to the channel's posted pages; anything else is a tx buffer;
 *   - a WQE is the next pages_per_wqe posted pages of the channel, in
 *     map order (the generator posts whole descriptors, nic_ring_refill);
 *     the device opens one when a packet finds none open (a wqe_bytes
 *     read of the next RQ entry), writes each packet at the WQE's next
 *     free stride (its bytes rounded up to strides), closes it when its
 *     strides are used or a packet does not fit (no filler CQE), and
 *     writes one CQE per packet;
 *   - a packet that finds no WQE's worth of pages posted waits for the
 *     maps that post them (the generator's poll when the ring ran dry
 *     comes between the packet's MARK and its accesses);
 *   - rings wrap at the end of their last page (gen nic_ring_access);
 *     dev.mlx5.rings = runs takes each ring's pages from the trace: the
 *     first read-write maps, one ring per run of consecutive IOVAs (gen
 *     nic ring_map takes each ring's range below the previous one);
 *   - a MARK repost adds its page to the channel's rx pages as a map
 *     would (the generator's nic_ring_refill took it from its rx cache).
 * gen nic without --stride is --stride 4096 here (a packet of n pages
 * takes n 4 KB strides, the same pages and writes). */

static int gq_push(chan_t *c, uint64_t iova, iosim_err_t *err)
{
    if (c->gq_len == c->gq_cap &&
        vec_ring_grow(&c->gq, &c->gq_cap, &c->gq_head, c->gq_len, 1024))
        return iosim_err_set(err, "mlx5: out of memory");
    c->gq[(c->gq_head + c->gq_len++) % c->gq_cap] = iova;
    return 0;
}

static uint64_t gn_len(const mlx5_t *m)
{
    return ((uint64_t)m->p.packet_bytes + m->p.stride - 1) / m->p.stride *
           m->p.stride;
}

/* one rx packet on channel ci; false: no WQE can be opened yet */
static bool gn_rx(mlx5_t *m, const iosim_rec_t *r, uint32_t ci)
{
    chan_t *c = &m->ch[ci];
    uint32_t ppw = m->p.pages_per_wqe;
    uint64_t len = gn_len(m), wqe_bytes = (uint64_t)ppw * PAGE;
    if (c->gopen && c->goff + len > wqe_bytes)
        c->gopen = false; /* the rest of the WQE goes unused */
    if (!c->gopen) {
        if (c->gq_len < ppw)
            return false;
        for (uint32_t k = 0; k < ppw; k++) {
            c->gwqe[k] = c->gq[c->gq_head];
            c->gq_head = (c->gq_head + 1) % c->gq_cap;
            c->gq_len--;
        }
        c->gopen = true;
        c->goff = c->gskip;
        c->gskip = 0;
        ring_access(m, r, &c->rq, c->rq.idx++, false);
    }
    for (uint64_t at = c->goff, end = c->goff + m->p.packet_bytes; at < end;) {
        uint64_t in = at % PAGE;
        uint64_t n = PAGE - in < end - at ? PAGE - in : end - at;
        uint64_t iova = c->gwqe[at / PAGE] + in;
        if (dev_live(m->sim, iova))
            emit(m, r, iova, n, true);
        at += n;
    }
    c->goff += len;
    if (c->goff == wqe_bytes)
        c->gopen = false;
    ring_access(m, r, &c->rxcq, c->rxcq.idx++, true);
    return true;
}

static void gn_packet(mlx5_t *m, const iosim_rec_t *r, uint32_t ci)
{
    chan_t *c = &m->ch[ci];
    if (c->gwait || !gn_rx(m, r, ci))
        c->gwait++;
}

/* rx page iova joins channel ci's posted pages (a map, or a repost of a
 * page the rx cache kept mapped); packets waiting for a WQE go now */
static int gn_post(mlx5_t *m, const iosim_rec_t *r, uint32_t ci, uint64_t iova,
                   iosim_err_t *err)
{
    chan_t *c = &m->ch[ci];
    if (gq_push(c, iova, err))
        return -1;
    while (c->gwait && gn_rx(m, r, ci))
        c->gwait--;
    return 0;
}

static int gn_map(mlx5_t *m, const iosim_rec_t *r, iosim_err_t *err)
{
    uint32_t ci = r->cpu % m->p.channels;
    chan_t *c = &m->ch[ci];
    if (r->size == PAGE && !(r->iova & (PAGE - 1)) &&
        (r->flags & (IOSIM_PROT_READ | IOSIM_PROT_WRITE)) == IOSIM_PROT_WRITE)
        return gn_post(m, r, ci, r->iova, err);
    if (r->size > m->p.tx_map_max)
        return iosim_err_set(err,
                             "mlx5: map of %" PRIu64 " bytes at iova "
                             "0x%" PRIx64 " has no role: not a ring "
                             "page, not a write-only 4 KB rx page, "
                             "larger than a tx buffer (dev.mlx5."
                             "tx_map_max %" PRIu64 ")",
                             r->size, r->iova, m->p.tx_map_max);
    uint64_t n =
        m->p.tx_bytes && m->p.tx_bytes < r->size ? m->p.tx_bytes : r->size;
    ring_access(m, r, &c->sq, c->sq.idx++, false);
    emit(m, r, r->iova, n, false);
    ring_access(m, r, &c->txcq, c->txcq.idx++, true);
    return 0;
}

static int mlx5_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    mlx5_t *m = state;
    rx_by_rate(m, r);
    uint64_t first = r->iova & ~(uint64_t)(PAGE - 1);
    uint64_t pages = (r->iova + r->size - first + PAGE - 1) / PAGE;
    if (m->runs_open) {
        if ((r->flags & (IOSIM_PROT_READ | IOSIM_PROT_WRITE)) ==
            (IOSIM_PROT_READ | IOSIM_PROT_WRITE)) {
            for (uint64_t i = 0; i < pages; i++)
                if (ring_run_take(m, first + i * PAGE, err))
                    return -1;
            return 0;
        }
        m->runs_open = false; /* the rings are all mapped */
    }
    if (m->ring_left) {
        for (uint64_t i = 0; i < pages && m->ring_left; i++)
            ring_take(m, first + i * PAGE);
        return 0;
    }
    if (m->gen_nic)
        return gn_map(m, r, err);
    uint32_t C = m->p.channels, mine = r->cpu % C;
    if (r->size == PAGE && !(r->iova & (PAGE - 1))) {
        for (uint32_t k = 0; k < C; k++) {
            uint32_t ci = (mine + k) % C;
            chan_t *c = &m->ch[ci];
            if (!deficit(m, c))
                continue;
            pent_t *e = tab_find(m, r->iova);
            if (!e && !(e = tab_insert(m, r->iova, err)))
                return -1;
            /* a remap of a page still held (a lossy trace) counts anew */
            if (e->st == ST_FREE)
                m->ch[e->ch].n_free--;
            else if (e->st == ST_POSTED)
                m->ch[e->ch].n_posted--;
            *e = (pent_t){
                .key = r->iova >> 12, .gen = ++m->gen, .ch = ci, .st = ST_FREE};
            c->n_free++;
            fifo_push(m, c, (pg_t){.iova = r->iova, .gen = e->gen});
            post(m, c);
            return 0;
        }
    }
    if (r->size > m->p.tx_map_max)
        return iosim_err_set(err,
                             "mlx5: map of %" PRIu64 " bytes at iova "
                             "0x%" PRIx64 " has no role: not a ring "
                             "page, not a 4 KB rx page the pool "
                             "lacks, larger than a tx buffer "
                             "(dev.mlx5.tx_map_max %" PRIu64 ")",
                             r->size, r->iova, m->p.tx_map_max);
    chan_t *c = &m->ch[mine];
    ring_access(m, r, &c->sq, c->sq.idx++, false);
    emit(m, r, r->iova, r->size, false);
    ring_access(m, r, &c->txcq, c->txcq.idx++, true);
    return 0;
}

static int mlx5_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    mlx5_t *m = state;
    rx_by_rate(m, r);
    for (uint64_t a = r->iova & ~(uint64_t)(PAGE - 1); a < r->iova + r->size;
         a += PAGE) {
        pent_t *e = tab_find(m, a);
        if (!e)
            continue;
        chan_t *c = &m->ch[e->ch];
        if (e->st == ST_FREE)
            c->n_free--;
        else if (e->st == ST_POSTED)
            c->n_posted--;
        e->st = ST_TOMB;
    }
    return 0;
}

/* MARK repost: the driver posts a page it kept mapped (v6.0 en_rx.c
 * mlx5e_page_alloc_pool took it from mlx5e_rx_cache_get: no map).  gen-nic:
 * the page joins the record's channel like a mapped rx page.  mlx5e: a
 * page the pool released (unmap-per-page) is free again; one the pool
 * still holds (page-pool recycles by itself) is left as it is. */
static int mlx5_repost(mlx5_t *m, const iosim_rec_t *r, iosim_err_t *err)
{
    uint64_t iova = r->iova & ~(uint64_t)(PAGE - 1);
    if (r->size != PAGE || iova != r->iova || !dev_live(m->sim, iova))
        return iosim_err_set(err,
                             "mlx5: MARK repost of %" PRIu64 " bytes "
                             "at iova 0x%" PRIx64 ": not a mapped 4 KB "
                             "page",
                             r->size, r->iova);
    if (m->gen_nic)
        return gn_post(m, r, r->cpu % m->p.channels, iova, err);
    pent_t *e = tab_find(m, iova);
    if (!e)
        return iosim_err_set(err,
                             "mlx5: MARK repost of iova 0x%" PRIx64
                             ": not an rx page of the pool",
                             iova);
    if (e->st == ST_RELEASED) {
        chan_t *c = &m->ch[e->ch];
        e->st = ST_FREE;
        c->n_free++;
        fifo_push(m, c, (pg_t){.iova = iova, .gen = e->gen});
        post(m, c);
    }
    return 0;
}

static int mlx5_mark(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    mlx5_t *m = state;
    rx_by_rate(m, r);
    if (r->flags == IOSIM_MARK_REPOST)
        return mlx5_repost(m, r, err);
    if (r->flags != IOSIM_MARK_REQUEST)
        return 0;
    for (uint32_t i = 0; i < m->p.rx_per_mark; i++) {
        if (m->gen_nic)
            gn_packet(m, r, r->cpu % m->p.channels);
        else
            rx_packet(m, r, r->cpu % m->p.channels);
    }
    return 0;
}

/* ---- life ----------------------------------------------------------- */

static void mlx5_destroy(void *state)
{
    mlx5_t *m = state;
    if (!m)
        return;
    for (uint32_t i = 0; m->ch && i < m->p.channels; i++) {
        chan_t *c = &m->ch[i];
        free(c->rxcq.page);
        free(c->rq.page);
        free(c->txcq.page);
        free(c->sq.page);
        free(c->fifo);
        free(c->wqe);
        free(c->gq);
        free(c->gwqe);
    }
    free(m->ch);
    free(m->tab);
    free(m);
}

static bool pow2(uint32_t v) { return v && !(v & (v - 1)); }

/* wrap: the ring's entries fill its last page (gen nic_ring_access);
 * entries 0: sized as the trace maps it (rings=runs, ring_run_take) */
static int ring_init(ring_t *g, uint32_t entries, uint32_t bytes, bool wrap)
{
    g->entry_bytes = bytes;
    if (!entries)
        return 0;
    g->npages = (uint32_t)(((uint64_t)entries * bytes + PAGE - 1) / PAGE);
    g->entries = wrap ? g->npages * (PAGE / bytes) : entries;
    g->page = calloc(g->npages, sizeof *g->page);
    return g->page ? 0 : -1;
}

static void *mlx5_create(iosim_sim_t *s, iosim_err_t *err)
{
    const struct dev_mlx5_params *p =
        iosim_plugin_params(sim_config(s), mlx5_rows);
    uint64_t wqe_bytes = (uint64_t)p->pages_per_wqe * PAGE;
    if (!pow2(p->stride) || p->stride > wqe_bytes)
        return iosim_err_set(err,
                             "dev.mlx5.stride: %" PRIu32 " is not a "
                             "power of two up to the WQE's %" PRIu64 " bytes",
                             p->stride, wqe_bytes),
               NULL;
    if (!pow2(p->mps) || !pow2(p->mrrs))
        return iosim_err_set(err,
                             "dev.mlx5.mps / mrrs: %" PRIu32 " / %" PRIu32
                             " must be powers of two",
                             p->mps, p->mrrs),
               NULL;
    if (p->packet_bytes > wqe_bytes)
        return iosim_err_set(err,
                             "dev.mlx5.packet_bytes: %" PRIu32 " does "
                             "not fit one WQE (%" PRIu64 " bytes)",
                             p->packet_bytes, wqe_bytes),
               NULL;
    if (p->cqe_bytes > PAGE || p->wqe_bytes > PAGE || PAGE % p->cqe_bytes ||
        PAGE % p->wqe_bytes)
        return iosim_err_set(err, "dev.mlx5.cqe_bytes / wqe_bytes must "
                                  "divide 4096"),
               NULL;
    mlx5_t *m = calloc(1, sizeof *m);
    if (!m)
        return iosim_err_set(err, "out of memory"), NULL;
    m->sim = s;
    m->p = *p;
    m->pool_mode = strcmp(p->rx_pages, "unmap-per-page") != 0;
    m->gen_nic = strcmp(p->profile, "gen-nic") == 0;
    m->strides = (uint32_t)(wqe_bytes / p->stride);
    m->target = p->rx_wqes * p->pages_per_wqe;
    m->fifo_cap = 2 * m->target + 1;
    m->ch = calloc(p->channels, sizeof *m->ch);
    if (!m->ch || tab_grow(m, err))
        goto oom;
    m->runs = strcmp(p->rings, "runs") == 0;
    m->runs_open = m->runs;
    if (m->runs && !m->gen_nic) {
        mlx5_destroy(m);
        return iosim_err_set(err, "dev.mlx5.rings: runs needs dev.mlx5."
                                  "profile gen-nic (it tells rings by the "
                                  "maps' prot)"),
               NULL;
    }
    bool traced = strcmp(p->rings, "traced") == 0;
    for (uint32_t i = 0; i < p->channels; i++) {
        chan_t *c = &m->ch[i];
        bool w = m->gen_nic;
        uint32_t sized = !m->runs; /* runs: sizes from the trace */
        if (ring_init(&c->rxcq, sized * p->rx_cqes, p->cqe_bytes, w) ||
            ring_init(&c->rq, sized * p->rx_wqes, p->wqe_bytes, w) ||
            ring_init(&c->txcq, sized * p->tx_cqes, p->cqe_bytes, w) ||
            ring_init(&c->sq, sized * p->tx_wqes, p->wqe_bytes, w))
            goto oom;
        if (m->gen_nic) {
            c->gwqe = calloc(p->pages_per_wqe, sizeof *c->gwqe);
            if (!c->gwqe)
                goto oom;
            if (p->stagger_wqes) { /* gen nic --stagger-wqes */
                uint64_t len = gn_len(m);
                uint64_t per = wqe_bytes / len;
                c->gskip = (uint64_t)i * per / p->channels * len;
            }
        }
        if (traced)
            m->ring_left += (uint64_t)c->rxcq.npages + c->rq.npages +
                            c->txcq.npages + c->sq.npages;
        c->fifo = calloc(m->fifo_cap, sizeof *c->fifo);
        c->wqe = calloc((size_t)m->target, sizeof *c->wqe);
        if (!c->fifo || !c->wqe)
            goto oom;
    }
    return m;
oom:
    mlx5_destroy(m);
    return iosim_err_set(err, "out of memory"), NULL;
}

const dev_model_ops_t dev_model_mlx5 = {
    .name = "mlx5",
    /* its gen-nic profile is the device half of `iosim-trace gen nic` */
    .completes = "gen-nic",
    .summary = "ConnectX-5/6 under Linux mlx5e: striding rx WQEs filled "
               "from a page pool, WQE reads and CQE writes, tx reads, "
               "TLPs cut at MPS / MRRS (dev.mlx5.*)",
    .source = "Linux 6.12 drivers/net/ethernet/mellanox/mlx5/core en_rx.c, "
              "en_tx.c, en_main.c, en/params.c; net/core/page_pool.c; "
              "PCIe Base spec (docs/dev-mlx5.md)",
    .params = {mlx5_rows, sizeof(struct dev_mlx5_params), NULL},
    .create = mlx5_create,
    .destroy = mlx5_destroy,
    .map = mlx5_map,
    .unmap = mlx5_unmap,
    .mark = mlx5_mark,
};
