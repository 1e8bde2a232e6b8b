/* gen_nic.c — `gen nic`: an mlx5-style NIC driver under Linux's DMA API,
 * the setup of Rubin et al., "Fast & Safe IO Memory Protection", SOSP'24
 * (FIGURES.md §1).  The manual, with every mechanism, option and source
 * read, is docs/gen-nic.md; its options (table, defaults, the command
 * line's checks) are gen_nic_opts.c.
 *
 * Concepts:
 *   - Flows (flow f on cpu f % cpus) fill rx queues whose rings hold
 *     descriptors of --pages-per-descriptor 4 KB pages, each page mapped
 *     on its own; the device writes packets into them (one DMA record per
 *     page), a NAPI poll every --napi-batch packets unmaps the filled
 *     pages, sends the ACKs and reposts used-up descriptors.  Tx packets
 *     and ACKs map, are read and unmap one 4 KB IOVA per page.
 *   - IOVAs: Linux's allocator model, sim/os/iova.c (MODEL.md §1.5):
 *     one DMA domain, per-CPU rcache magazines over a depot, then the
 *     tree top-down below 4 GiB; physical frames: a seeded permutation.
 *   - Time advances mtu*8/rate ns per packet slot; a MARK request
 *     precedes every data packet; BEGIN after the ring fill, END before
 *     the teardown, so MAP and UNMAP counts are equal.
 *   - Optional mechanisms (off by default), each a section below: device
 *     rings (--device-rings), the F&S layout options (--rx-header,
 *     --stride, --queue-per-cpu, --gro-segments, --burst, --stagger-*),
 *     --rq-sizing mlx5, the v6.0 rx page cache (--rx-cache, --app-lag),
 *     CPU time of a poll (--unmap-ns: per-cpu record streams merged with
 *     the device's by time, trace/merge.h), --channels, and --driver-only (no
 * DMA records, for dev.model mlx5). Assumptions: one ring per flow unless
 * --queue-per-cpu; a packet buffer is MTU bytes in whole 4 KB pages; GRO
 * flushed at every poll; the placeholders (--packets, --ack-bytes,
 * --napi-batch, --app-lag) are named in docs/gen-nic.md. Not modeled: page-pool
 * recycling of later kernels, the 64-bit IOVA fallback (an error here), DCTCP
 * window / ECN effects, interrupt moderation, CQE compression (full list:
 *   docs/gen-nic.md).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "os/iova.h"
#include "trace/gen.h"
#include "trace/merge.h"

#define NIC_PAGE 4096ULL
/* Placeholder physical base (any distinct aligned frames do). */
#define GEN_NIC_PHYS_BASE 0x2000000000ULL
#define NIC_PHYS_FRAMES_LOG2 22

typedef struct nic_page {
    uint64_t iova;
    uint64_t phys;
    /* --unmap-ns: cpu time at which the page was posted to the ring */
    uint64_t post_t;
    /* --rx-cache: the page is free (the application has dropped its skb
     * fragments) once its queue has received free_at packets; 0 = never
     * written since posted, NIC_UNDELIVERED = written since the last poll */
    uint64_t free_at;
} nic_page_t;

#define NIC_UNDELIVERED UINT64_MAX

/* An rx queue: one per flow, or one per cpu with --queue-per-cpu. */
typedef struct nic_rxq {
    nic_page_t *ring; /* posted rx pages, FIFO (circular)             */
    size_t head, count, cap;
    uint64_t ndesc;    /* posted descriptors not yet used up            */
    uint64_t cur_left; /* pages left in the head descriptor, 0 = unused */
    nic_page_t *wqe;   /* --stride: pages of the open descriptor        */
    uint64_t wqe_off;  /* --stride: bytes of it used so far             */
    bool wqe_open;
    nic_page_t *pending; /* filled pages awaiting the next poll       */
    size_t npending;
    uint64_t pending_pkts; /* packets since the last poll               */
    uint8_t cpu;
    /* --device-rings: receive queue (WQEs) and completion queue (CQEs) */
    uint64_t rq_iova, cq_iova, rq_pages, cq_pages, rq_idx, cq_idx;
    /* --device-rings: the channel's tx queue and tx completion queue (one
     * page each): mlx5 opens one SQ per channel (and traffic class), and
     * XPS sends from a cpu through its own channel's SQ (en_main.c
     * mlx5e_open_channel / mlx5e_set_xps), so the flows of a queue share
     * it */
    uint64_t sq_iova, txcq_iova, sq_idx, txcq_idx;
    /* --rx-cache: the rq's page cache, a FIFO of rx_cache slots holding
     * at most rx_cache - 1 mapped pages (en.h struct mlx5e_page_cache) */
    nic_page_t *cache;
    size_t cache_head, cache_count;
    uint64_t rx_pkts;   /* packets received by the queue so far */
    uint64_t skip_pkts; /* --stagger-wqes: packets' worth of the first
                         * descriptor used before the window           */
} nic_rxq_t;

/* --unmap-ns: a cpu's stream of records not yet written, in time order
 * (a FIFO), and the time the cpu is busy until.  Per cpu, not per queue:
 * the polls of queues sharing a cpu run one after the other and share
 * its IOVA rcache. */
typedef struct nic_cpu {
    iosim_rec_t *recs;
    size_t head, count, cap;
    uint64_t t;
} nic_cpu_t;

typedef struct nic_flow {
    nic_rxq_t *q;
    uint64_t pending_data;     /* rx data packets since the last poll */
    uint64_t rx_data, tx_data; /* data packets acknowledged           */
    uint64_t gro_single;       /* --gro-segments: unacked 1-segment skbs */
    uint8_t cpu;
} nic_flow_t;

/* --channels: pfns allocated for a cpu's queues when the channels
 * opened, taken (in order) by their first ring fill. */
typedef struct nic_prefill {
    uint64_t *pfn;
    size_t head, n;
} nic_prefill_t;

typedef struct nic {
    const gen_nic_params_t *p;
    gen_out_t *o;
    iosim_err_t *err;
    nic_flow_t *flows;
    nic_rxq_t *qs;
    uint64_t nq;            /* rx queues */
    iova_domain_t *iovad;   /* the device's DMA domain */
    nic_prefill_t *prefill; /* --channels: one per cpu */
    uint64_t phys_n, phys_mul, phys_add;
    uint64_t ring_desc, pkt_pages, ack_pages;
    nic_page_t *tmp; /* pages of the packet in hand */
    uint64_t t;      /* ns of the current slot */
    uint64_t packets;
    nic_cpu_t *cpu_s;    /* --unmap-ns: one stream per cpu */
    trace_merge_t cpu_m; /* --unmap-ns: the cpu streams' merge */
    nic_cpu_t *cpu_on;   /* --unmap-ns: the cpu whose poll is running */
    uint64_t last_t;     /* --unmap-ns: time of the last record written */
    nic_page_t *idle;    /* --channels: ring pages of the idle channels */
    uint64_t nidle;
} nic_t;

static uint64_t pages_for(uint64_t bytes)
{
    return (bytes + NIC_PAGE - 1) / NIC_PAGE;
}

/* Bytes the device writes for one rx data packet. */
static uint64_t rx_bytes_of(const gen_nic_params_t *p)
{
    return p->mtu + p->rx_header;
}

/* --stride: bytes one packet of `bytes` occupies in a descriptor. */
static uint64_t stride_len(const gen_nic_params_t *p, uint64_t bytes)
{
    return (bytes + p->stride - 1) / p->stride * p->stride;
}

/* Data packets one rx descriptor holds. */
static uint64_t pkts_per_desc(const gen_nic_params_t *p)
{
    if (p->stride)
        return p->ppd * NIC_PAGE / stride_len(p, rx_bytes_of(p));
    return p->ppd / pages_for(rx_bytes_of(p));
}

/* --rq-sizing mlx5: the multi-packet WQEs mlx5 posts for `ethtool -G rx
 * R` (en/params.c mlx5e_mpwqe_get_log_rq_size): 2^(order_base_2(R) -
 * log_pkts_per_wqe), at least 2^MLX5E_PARAMS_MINIMUM_LOG_RQ_SIZE_MPW (2),
 * where log_pkts_per_wqe (mlx5e_mpwqe_log_pkts_per_wqe) is log2 of the
 * WQE's bytes (MLX5_MPWRQ_LOG_WQE_SZ: 64 pages) less order_base_2 of the
 * room one packet takes in a linear RQ: SKB_DATA_ALIGN(MLX5_RX_HEADROOM
 * + hw MTU) + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), headroom
 * NET_SKB_PAD = 64 (x86-64 L1_CACHE_BYTES), hw MTU = MTU + 22 (ETH_HLEN +
 * VLAN_HLEN + ETH_FCS_LEN, MLX5E_SW2HW_MTU), skb_shared_info 320 B
 * (x86-64).  mlx5 budgets that room even when the RQ is not linear: at a
 * 4000 or 4096 B MTU it is 4.4 KB, over a page, so packets are packed
 * in small strides at about 4 KB each, yet the ring is sized at 8 KB per
 * packet (any shared-info size up to 3.9 KB gives the same): a 256-packet
 * ring gets 8 WQEs, 512 pages, twice its packets' pages, the factor 2 F&S
 * report without knowing its cause (SOSP'24 §2.2 footnote 2).  Read in
 * stored 5.x and 6.x trees (the same formula in each); the v6.0 file
 * itself is UNVERIFIED. */
static uint64_t mlx5_rq_wqes(const gen_nic_params_t *p)
{
    const uint64_t align = 64, headroom = 64, hard_mtu = 22, shinfo = 320;
    uint64_t linear =
        (headroom + p->mtu + hard_mtu + align - 1) / align * align + shinfo;
    unsigned wqe_log = order_base_2(p->ppd * NIC_PAGE);
    unsigned frag_log = order_base_2(linear);
    unsigned pkts_log = wqe_log > frag_log ? wqe_log - frag_log : 0;
    unsigned ring_log = order_base_2(p->ring);
    unsigned min_log = 2;
    return 1ULL << (ring_log < pkts_log + min_log ? min_log
                                                  : ring_log - pkts_log);
}

static uint64_t ring_desc_of(const gen_nic_params_t *p)
{
    uint64_t d;
    if (p->rq_sizing_mlx5) {
        d = mlx5_rq_wqes(p);
    } else if (p->stride) {
        uint64_t per = pkts_per_desc(p);
        d = per ? (p->ring + per - 1) / per : 1;
    } else {
        d = (p->ring * pages_for(rx_bytes_of(p)) + p->ppd - 1) / p->ppd;
    }
    return d ? d : 1;
}

static uint64_t rxq_count(const gen_nic_params_t *p)
{
    return p->queue_per_cpu && p->cpus < p->flows ? p->cpus : p->flows;
}

uint64_t gen_nic_live_bound(const gen_nic_params_t *p)
{
    uint64_t tx = pages_for(p->mtu);
    uint64_t ack = pages_for(p->ack_bytes);
    uint64_t cached = p->rx_cache ? p->rx_cache - 1 : 0;
    uint64_t idle = p->channels > rxq_count(p) ? p->channels - rxq_count(p) : 0;
    return rxq_count(p) * (ring_desc_of(p) * p->ppd + cached) +
           idle * ring_desc_of(p) * p->ppd + (tx > ack ? tx : ack);
}

int gen_nic_check(const gen_nic_params_t *p, iosim_err_t *err)
{
    if (p->flows == 0 || p->flows > 65536)
        return iosim_err_set(err, "gen nic: --flows must be in [1, 65536]");
    if (p->cpus == 0 || p->cpus > GEN_NIC_MAX_CPUS)
        return iosim_err_set(err, "gen nic: --cpus must be in [1, %d]",
                             GEN_NIC_MAX_CPUS);
    if (p->ring == 0 || p->ring > 65536)
        return iosim_err_set(err, "gen nic: --ring must be in [1, 65536]");
    if (p->mtu == 0 || p->mtu > 65536)
        return iosim_err_set(err, "gen nic: --mtu must be in [1, 65536]");
    if (p->rx_header > 4096)
        return iosim_err_set(err, "gen nic: --rx-header must be <= 4096");
    if (p->stride > 65536)
        return iosim_err_set(err, "gen nic: --stride must be <= 65536");
    if (p->ppd == 0 ||
        (p->stride ? stride_len(p, rx_bytes_of(p)) > p->ppd * NIC_PAGE
                   : p->ppd < pages_for(rx_bytes_of(p))))
        return iosim_err_set(err,
                             "gen nic: --pages-per-descriptor %llu cannot "
                             "hold one %llu-byte rx packet",
                             (unsigned long long)p->ppd,
                             (unsigned long long)rx_bytes_of(p));
    if (p->napi_batch == 0)
        return iosim_err_set(err, "gen nic: --napi-batch must be >= 1");
    if (p->burst == 0 || p->burst > 65536)
        return iosim_err_set(err, "gen nic: --burst must be in [1, 65536]");
    if (p->gro_segs > 65536)
        return iosim_err_set(err, "gen nic: --gro-segments must be <= 65536");
    if (p->ack_every && (p->ack_bytes == 0 || p->ack_bytes > p->mtu))
        return iosim_err_set(err, "gen nic: --ack-bytes must be in [1, mtu]");
    if ((p->packets == 0) == !(p->duration_s > 0))
        return iosim_err_set(err, "gen nic: give exactly one of --packets and "
                                  "--duration");
    if (p->duration_s > 1e6)
        return iosim_err_set(err, "gen nic: --duration: at most 1e6 s");
    if (!(p->rate_gbps > 0))
        return iosim_err_set(err, "gen nic: --rate must be > 0");
    if (p->direction == 0 || p->direction > (GEN_NIC_RX | GEN_NIC_TX))
        return iosim_err_set(err, "gen nic: bad direction");
    if (p->domain > 0xffff)
        return iosim_err_set(err, "gen nic: --domain: %llu > 65535",
                             (unsigned long long)p->domain);
    if (p->rx_cache && (p->rx_cache < 2 || p->rx_cache > 65536 ||
                        (p->rx_cache & (p->rx_cache - 1))))
        return iosim_err_set(err,
                             "gen nic: --rx-cache %llu: must be 0 (off) or "
                             "a power of two in [2, 65536]",
                             (unsigned long long)p->rx_cache);
    if (p->napi_batch > 65536)
        return iosim_err_set(err, "gen nic: --napi-batch must be <= 65536");
    if (p->app_lag > GEN_NIC_MAX_APP_LAG)
        return iosim_err_set(err, "gen nic: --app-lag must be <= %llu",
                             (unsigned long long)GEN_NIC_MAX_APP_LAG);
    if (p->channels && p->channels < rxq_count(p))
        return iosim_err_set(err,
                             "gen nic: --channels %llu is fewer than the "
                             "%llu rx queues the flows use",
                             (unsigned long long)p->channels,
                             (unsigned long long)rxq_count(p));
    /* the 32-bit IOVA space holds 2^20 - 1 pages less the MSI window;
     * frames must stay distinct */
    uint64_t bound = gen_nic_live_bound(p);
    if (bound >= IOVA_DMA32_PFN - IOVA_START_PFN -
                     (IOVA_MSI_HI_PFN - IOVA_MSI_LO_PFN + 1))
        return iosim_err_set(err,
                             "gen nic: %llu live pages (queues x (ring + "
                             "rx cache)) do not "
                             "fit the 32-bit IOVA space",
                             (unsigned long long)bound);
    return 0;
}

/* ------------------------------------------------------------------ */
/* What a --driver-only trace implies (gen_nic_implies)                */
/* ------------------------------------------------------------------ */
/* The device model's entries: mlx5 WQE stride / CQE size (64 B CQEs). */
#define NIC_RING_ENTRY 64ULL

/* The device model's gen-nic profile lays out the device half for a
 * --driver-only rx trace whose queues each have a cpu of their own, with
 * no idle channels and a stride it can take (docs/dev-mlx5.md, "gen nic
 * --driver-only": --channels, --direction tx|both and several queues
 * per cpu are not covered); for any other trace nothing is implied and
 * the configuration says what the model runs. */
static bool implies_covered(const gen_nic_params_t *p)
{
    return p->driver_only && p->direction == GEN_NIC_RX && p->channels == 0 &&
           rxq_count(p) <= p->cpus &&
           (p->stride == 0 || (p->stride >= NIC_RING_ENTRY &&
                               (p->stride & (p->stride - 1)) == 0));
}

static bool put_u64(char *buf, size_t n, uint64_t v)
{
    snprintf(buf, n, "%llu", (unsigned long long)v);
    return true;
}

#define IMPLY_U64(name, expr, also)                                            \
    static bool name(const void *params, char *buf, size_t n)                  \
    {                                                                          \
        const gen_nic_params_t *p = params;                                    \
        return implies_covered(p) && (also) && put_u64(buf, n, (expr));        \
    }
// clang-format off
IMPLY_U64(imp_channels, rxq_count(p), true)
IMPLY_U64(imp_rx_wqes, ring_desc_of(p), p->device_rings)
IMPLY_U64(imp_rx_cqes, p->ring, p->device_rings)
IMPLY_U64(imp_tx_entries, NIC_PAGE / NIC_RING_ENTRY, p->device_rings)
IMPLY_U64(imp_entry_bytes, NIC_RING_ENTRY, p->device_rings)
IMPLY_U64(imp_pages_per_wqe, p->ppd, true)
IMPLY_U64(imp_stride, p->stride ? p->stride : NIC_PAGE, true)
IMPLY_U64(imp_packet_bytes, rx_bytes_of(p), true)
IMPLY_U64(imp_page, NIC_PAGE, true)
IMPLY_U64(imp_tx_bytes, p->ack_bytes, true)
IMPLY_U64(imp_one, 1, true)
// clang-format on
#undef IMPLY_U64

static bool imp_profile(const void *params, char *buf, size_t n)
{
    snprintf(buf, n, "gen-nic");
    return implies_covered(params);
}

static bool imp_rings(const void *params, char *buf, size_t n)
{
    const gen_nic_params_t *p = params;
    snprintf(buf, n, "%s", p->device_rings ? "traced" : "none");
    return implies_covered(p);
}

static bool imp_stagger(const void *params, char *buf, size_t n)
{
    const gen_nic_params_t *p = params;
    snprintf(buf, n, "%s", p->stagger_wqes ? "true" : "false");
    return implies_covered(p);
}

// clang-format off
const gen_imply_t gen_nic_implies[] = {
    {"profile", "every row: only for a --driver-only rx trace whose "
     "queues have a cpu each, without --channels", "the model's gen-nic profile is this generator's "
     "device half (roles from map prot, ring order and wrap, WQEs from the "
     "rx pages in map order; tests/cli/gen_nic_driver_only.sh)", imp_profile},
    {"channels", "rx queues: --flows, or --cpus with --queue-per-cpu",
     "the model tells a page's queue by its map's cpu, and with rings "
     "takes one set of rings per queue (rxq_count)", imp_channels},
    {"rings", "traced with --device-rings, else none",
     "--device-rings maps each queue's RQ, CQ, SQ and tx CQ before any "
     "buffer (rings_create); without it no ring is mapped or accessed",
     imp_rings},
    {"rx_wqes", "--ring packets / packets per descriptor (--rq-sizing "
     "mlx5: mlx5's rule), with --device-rings",
     "the RQ has ring_desc_of descriptors (rings_create)", imp_rx_wqes},
    {"rx_cqes", "--ring, with --device-rings",
     "one CQ entry per --ring packet (rings_create)", imp_rx_cqes},
    {"tx_wqes", "64, with --device-rings",
     "the SQ is one 4 KB page of 64 B entries (rings_create)",
     imp_tx_entries},
    {"tx_cqes", "64, with --device-rings",
     "the tx CQ is one 4 KB page of 64 B entries (rings_create)",
     imp_tx_entries},
    {"wqe_bytes", "64, with --device-rings",
     "a WQE read is one 64 B ring entry (ring_access)", imp_entry_bytes},
    {"cqe_bytes", "64, with --device-rings",
     "a CQE write is one 64 B ring entry (ring_access)", imp_entry_bytes},
    {"pages_per_wqe", "--pages-per-descriptor",
     "a descriptor holds that many pages (ring_refill)", imp_pages_per_wqe},
    {"stride", "--stride, 4096 without it",
     "packets are packed at --stride granules (rx_strides); without it a "
     "packet takes whole pages, the profile's 4 KB strides (rx_pages)",
     imp_stride},
    {"packet_bytes", "--mtu + --rx-header",
     "the bytes the device writes per rx packet (rx_bytes_of)",
     imp_packet_bytes},
    {"mps", "4096", "the generator writes one DMA record per 4 KB page "
     "(dma_pages, dma_span); the model cuts writes at mps", imp_page},
    {"mrrs", "4096", "the generator reads one DMA record per 4 KB page "
     "(dma_pages); the model cuts reads at mrrs", imp_page},
    {"tx_bytes", "--ack-bytes", "an ACK maps a page and the device reads "
     "--ack-bytes of it (tx_packet)", imp_tx_bytes},
    {"stagger_wqes", "--stagger-wqes",
     "queues start at spread descriptor offsets (the generator's "
     "--stagger-wqes)", imp_stagger},
    {"rx_per_mark", "1", "a MARK request precedes every data packet",
     imp_one},
    {NULL, NULL, NULL, NULL},
};
// clang-format on

/* ------------------------------------------------------------------ */
/* Allocators                                                          */
/* ------------------------------------------------------------------ */
/* The driver's time: a poll's cpu time with --unmap-ns, else the slot's. */
static uint64_t nic_now(const nic_t *n)
{
    return n->cpu_on ? n->cpu_on->t : n->t;
}

/* dma_map_page of `pages` pages on cpu: iommu_dma_alloc_iova for a PCI
 * device tries below 4 GiB first; the 64-bit fallback is not modeled, so
 * exhausting the 32-bit space is an error.  The depot's trimming runs at
 * the driver's time. */
static int iova_alloc(nic_t *n, uint8_t cpu, uint64_t pages, uint64_t *iova)
{
    nic_prefill_t *f = &n->prefill[cpu];
    if (pages == 1 && f->head < f->n) {
        *iova = f->pfn[f->head++] * NIC_PAGE;
        return 0;
    }
    iova_tick(n->iovad, nic_now(n));
    uint64_t pfn =
        iova_alloc_fast(n->iovad, cpu, pages, IOVA_DMA32_PFN - 1, true, NULL);
    if (!pfn)
        return iosim_err_set(n->err,
                             "gen nic: 32-bit IOVA space exhausted at "
                             "t=%llu ns",
                             (unsigned long long)n->t);
    *iova = pfn * NIC_PAGE;
    return 0;
}

/* dma_unmap_page's free_iova_fast on cpu (pages as allocated). */
static void iova_free(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t pages)
{
    iova_tick(n->iovad, nic_now(n));
    iova_free_fast(n->iovad, cpu, iova / NIC_PAGE, pages);
}

/* A seeded permutation of 2^22 frames: n * odd + c is a bijection mod a
 * power of two. */
static uint64_t phys_alloc(nic_t *n)
{
    uint64_t mask = (1ULL << NIC_PHYS_FRAMES_LOG2) - 1;
    uint64_t frame = (n->phys_n++ * n->phys_mul + n->phys_add) & mask;
    return GEN_NIC_PHYS_BASE + frame * NIC_PAGE;
}

/* ------------------------------------------------------------------ */
/* Record emitters                                                     */
/* ------------------------------------------------------------------ */
/* The one place records leave the generator: --driver-only drops the
 * device's (DMA) records here, after everything that decides the other
 * records' order and times, so the driver's records are exactly those of
 * the full trace. */
static int nic_put(nic_t *n, const iosim_rec_t *r)
{
    if (n->p->driver_only && r->kind == IOSIM_REC_DMA)
        return 0;
    return gen_out_put(n->o, r, n->err);
}

/* --unmap-ns: write r, never earlier than the last record written (a
 * forced stream goes out at the device's time, see cpu_flush). */
static int out_put(nic_t *n, iosim_rec_t *r)
{
    if (r->t < n->last_t)
        r->t = n->last_t;
    n->last_t = r->t;
    return nic_put(n, r);
}

/* --unmap-ns: the head record of cpu stream c, which leaves it (and the
 * stream's key in the merge moves to its next record). */
static iosim_rec_t cpu_pop(nic_t *n, nic_cpu_t *c)
{
    iosim_rec_t r = c->recs[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    size_t i = (size_t)(c - n->cpu_s);
    if (c->count)
        trace_merge_set(&n->cpu_m, i, c->recs[c->head].t);
    else
        trace_merge_remove(&n->cpu_m, i);
    return r;
}

/* --unmap-ns: write the records of every cpu stream due by time t, in
 * time order (ties: lower cpu first, the merge's rule). */
static int cpu_flush_due(nic_t *n, uint64_t t)
{
    size_t i;
    uint64_t head_t;
    while (trace_merge_peek(&n->cpu_m, &i, &head_t) && head_t <= t) {
        iosim_rec_t r = cpu_pop(n, &n->cpu_s[i]);
        if (out_put(n, &r))
            return -1;
    }
    return 0;
}

/* --unmap-ns: the device needs what cpu c posts at time until: write c's
 * stream up to then at once, stamped no later than now. */
static int cpu_flush_forced(nic_t *n, nic_cpu_t *c, uint64_t until)
{
    if (cpu_flush_due(n, n->t))
        return -1;
    while (c->count && c->recs[c->head].t <= until) {
        iosim_rec_t r = cpu_pop(n, c);
        if (r.t > n->t)
            r.t = n->t;
        if (out_put(n, &r))
            return -1;
    }
    return 0;
}

static int cpu_push(nic_t *n, nic_cpu_t *c, const iosim_rec_t *r)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        iosim_rec_t *v = malloc(cap * sizeof *v);
        if (!v)
            return iosim_err_set(n->err, "gen nic: out of memory");
        for (size_t i = 0; i < c->count; i++)
            v[i] = c->recs[(c->head + i) % c->cap];
        free(c->recs);
        c->recs = v;
        c->head = 0;
        c->cap = cap;
    }
    if (!c->count) /* the stream's next record: it enters the merge */
        trace_merge_set(&n->cpu_m, (size_t)(c - n->cpu_s), r->t);
    c->recs[(c->head + c->count++) % c->cap] = *r;
    return 0;
}

static int emit(nic_t *n, uint8_t kind, uint8_t cpu, uint64_t iova,
                uint64_t size, uint64_t aux, uint8_t flags)
{
    /* a repost mark stands in for the device's view of a cached page: the
     * full trace has the device's own records instead and never sees it
     * (not even in the --unmap-ns streams, whose times it could shift) */
    if (kind == IOSIM_REC_MARK && flags == IOSIM_MARK_REPOST &&
        !n->p->driver_only)
        return 0;
    iosim_rec_t r = gen_rec(kind, n->t, n->p->device, (uint16_t)n->p->domain);
    r.cpu = cpu;
    r.iova = iova;
    r.size = size;
    r.aux = aux;
    r.flags = flags;
    if (!n->p->unmap_ns)
        return nic_put(n, &r);
    if (n->cpu_on) { /* inside a poll: the record joins the cpu stream */
        r.t = n->cpu_on->t;
        if (kind == IOSIM_REC_UNMAP)
            n->cpu_on->t += n->p->unmap_ns;
        return cpu_push(n, n->cpu_on, &r);
    }
    return cpu_flush_due(n, n->t) || out_put(n, &r) ? -1 : 0;
}

static int map_page(nic_t *n, uint8_t cpu, bool device_writes, nic_page_t *pg)
{
    if (iova_alloc(n, cpu, 1, &pg->iova))
        return -1;
    pg->phys = phys_alloc(n);
    return emit(n, IOSIM_REC_MAP, cpu, pg->iova, NIC_PAGE, pg->phys,
                device_writes ? IOSIM_PROT_WRITE : IOSIM_PROT_READ);
}

static int unmap_page(nic_t *n, uint8_t cpu, const nic_page_t *pg)
{
    if (emit(n, IOSIM_REC_UNMAP, cpu, pg->iova, NIC_PAGE, 0, 0))
        return -1;
    iova_free(n, cpu, pg->iova, 1);
    return 0;
}

/* One DMA record per 4 KB page of a bytes-long buffer. */
static int dma_pages(nic_t *n, uint8_t cpu, const nic_page_t *pg,
                     uint64_t npages, uint64_t bytes, bool write)
{
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t left = bytes - i * NIC_PAGE;
        if (emit(n, IOSIM_REC_DMA, cpu, pg[i].iova,
                 left < NIC_PAGE ? left : NIC_PAGE, 0,
                 write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ))
            return -1;
    }
    return 0;
}

/* --stride: the device writes bytes at byte offset off of the descriptor
 * pages pg[]: one DMA write record per page the range touches, each
 * carrying the IOVA of its first byte in that page. */
static int dma_span(nic_t *n, uint8_t cpu, const nic_page_t *pg, uint64_t off,
                    uint64_t bytes)
{
    for (uint64_t at = off, end = off + bytes; at < end;) {
        uint64_t in = at % NIC_PAGE;
        uint64_t len = NIC_PAGE - in < end - at ? NIC_PAGE - in : end - at;
        if (emit(n, IOSIM_REC_DMA, cpu, pg[at / NIC_PAGE].iova + in, len, 0,
                 IOSIM_DMA_WRITE))
            return -1;
        at += len;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Device rings (--device-rings)                                       */
/* ------------------------------------------------------------------ */

/* A coherent ring of npages pages: one IOVA range (dma_alloc_coherent:
 * one iommu_dma_alloc_iova, so fewer than 32 pages are rounded up to a
 * power of two and naturally aligned), taken from the top of the space
 * (driver load comes before any buffer map), each page mapped read+write
 * (IOMMU_READ|IOMMU_WRITE). */
static int ring_map(nic_t *n, uint8_t cpu, uint64_t npages, uint64_t *iova)
{
    if (iova_alloc(n, cpu, npages, iova))
        return -1;
    for (uint64_t i = 0; i < npages; i++)
        if (emit(n, IOSIM_REC_MAP, cpu, *iova + i * NIC_PAGE, NIC_PAGE,
                 phys_alloc(n), IOSIM_PROT_READ | IOSIM_PROT_WRITE))
            return -1;
    return 0;
}

static int ring_unmap(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t npages)
{
    for (uint64_t i = 0; i < npages; i++)
        if (emit(n, IOSIM_REC_UNMAP, cpu, iova + i * NIC_PAGE, NIC_PAGE, 0, 0))
            return -1;
    iova_free(n, cpu, iova, npages);
    return 0;
}

/* One 64 B device access to the next entry of a ring (wraps around). */
static int ring_access(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t npages,
                       uint64_t *idx, bool write)
{
    uint64_t entries = npages * NIC_PAGE / NIC_RING_ENTRY;
    uint64_t at = iova + (*idx % entries) * NIC_RING_ENTRY;
    ++*idx;
    return emit(n, IOSIM_REC_DMA, cpu, at, NIC_RING_ENTRY, 0,
                write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ);
}

/* Rings of queue (channel) i, in driver-load order: RQ, CQ, SQ, tx CQ.
 * Without --queue-per-cpu every flow has its own queue, so its own
 * rings. */
static int rings_create(nic_t *n, uint64_t i)
{
    nic_rxq_t *q = &n->qs[i];
    q->rq_pages = pages_for(n->ring_desc * NIC_RING_ENTRY);
    q->cq_pages = pages_for(n->p->ring * NIC_RING_ENTRY);
    return ring_map(n, q->cpu, q->rq_pages, &q->rq_iova) ||
                   ring_map(n, q->cpu, q->cq_pages, &q->cq_iova) ||
                   ring_map(n, q->cpu, 1, &q->sq_iova) ||
                   ring_map(n, q->cpu, 1, &q->txcq_iova)
               ? -1
               : 0;
}

static int rings_destroy(nic_t *n, uint64_t i)
{
    nic_rxq_t *q = &n->qs[i];
    return ring_unmap(n, q->cpu, q->rq_iova, q->rq_pages) ||
                   ring_unmap(n, q->cpu, q->cq_iova, q->cq_pages) ||
                   ring_unmap(n, q->cpu, q->sq_iova, 1) ||
                   ring_unmap(n, q->cpu, q->txcq_iova, 1)
               ? -1
               : 0;
}

/* ------------------------------------------------------------------ */
/* Rx page cache (--rx-cache; en_rx.c mlx5e_rx_cache_put / _get)       */
/* ------------------------------------------------------------------ */
/* At a poll: the stack now holds the pages written since the last poll
 * (GRO hands their skbs up when the poll ends); the application frees
 * them --app-lag packets of the queue later.  free_at is the first
 * queue packet count at which the page is free, so with lag 0 the page
 * is still busy at this poll's own refill and free at the next one. */
static void rx_cache_deliver(nic_t *n, nic_rxq_t *q)
{
    uint64_t free_at = q->rx_pkts + n->p->app_lag + 1;
    for (size_t i = 0; i < q->npending; i++)
        if (q->pending[i].free_at == NIC_UNDELIVERED)
            q->pending[i].free_at = free_at;
    for (uint64_t i = 0; q->wqe_open && i < n->p->ppd; i++)
        if (q->wqe[i].free_at == NIC_UNDELIVERED)
            q->wqe[i].free_at = free_at;
}

/* mlx5e_page_release_dynamic(recycle = true): the page goes to the
 * cache tail, still mapped, unless the cache is full (tail + 1 == head:
 * at most rx_cache - 1 pages, stat cache_full); then it is unmapped.
 * put does not look at the refcount: a page the stack still holds can
 * enter the cache. */
static int rx_page_release(nic_t *n, nic_rxq_t *q, const nic_page_t *pg)
{
    if (n->p->rx_cache && q->cache_count < n->p->rx_cache - 1) {
        size_t tail = (q->cache_head + q->cache_count) & (n->p->rx_cache - 1);
        q->cache[tail] = *pg;
        q->cache_count++;
        return 0;
    }
    return unmap_page(n, q->cpu, pg);
}

/* mlx5e_rx_cache_get: empty (cache_empty) or head page still referenced
 * by an skb (page_ref_count != 1, cache_busy) -> false; else the head
 * page is reused as it is: same IOVA and frame, a dma sync, no map.
 * Only the head is looked at, so one busy page blocks the cache. */
static bool rx_cache_get(nic_t *n, nic_rxq_t *q, nic_page_t *slot)
{
    if (!q->cache_count || q->cache[q->cache_head].free_at > q->rx_pkts)
        return false;
    *slot = q->cache[q->cache_head];
    slot->free_at = 0;
    q->cache_head = (q->cache_head + 1) & (n->p->rx_cache - 1);
    q->cache_count--;
    return true;
}

/* ------------------------------------------------------------------ */
/* Rx queue                                                            */
/* ------------------------------------------------------------------ */
/* mlx5e_page_alloc_pool: a page from the rx cache, else a newly mapped
 * one. */
static int ring_refill(nic_t *n, nic_rxq_t *q)
{
    while (q->ndesc < n->ring_desc) {
        for (uint64_t i = 0; i < n->p->ppd; i++) {
            nic_page_t *slot = &q->ring[(q->head + q->count) % q->cap];
            if (n->p->rx_cache && rx_cache_get(n, q, slot)) {
                /* --driver-only: the page enters the ring again without
                 * a map; say which (a MARK repost) */
                if (emit(n, IOSIM_REC_MARK, q->cpu, slot->iova, NIC_PAGE, 0,
                         IOSIM_MARK_REPOST))
                    return -1;
            } else {
                if (map_page(n, q->cpu, true, slot))
                    return -1;
                slot->free_at = 0;
            }
            slot->post_t = n->cpu_on ? n->cpu_on->t : n->t;
            q->count++;
        }
        q->ndesc++;
    }
    return 0;
}

/* --channels C: mlx5 opens every channel when the interface comes up and
 * each channel's NAPI fills its rx ring on its own cpu, all at once
 * (en_main.c mlx5e_open_channels / mlx5e_activate_priv_channels; the rx
 * WQEs are posted from NAPI, en_rx.c mlx5e_post_rx_mpwqes), each page
 * mapped with its own dma_map_page.  With the IOVA caches still empty
 * every one of those allocations goes to the one rbtree, top-down under
 * one lock, so the channels' pages interleave in IOVA space.  Here the
 * C x ring pages are allocated (top-down: the rcaches are still empty) in
 * a seeded random order of channels (each page an independent draw: the
 * interleaving of cpus contending for the lock, UNVERIFIED at which
 * grain); the queues the flows use keep theirs for their cpu's first ring
 * fill (nic_prefill_t), which maps exactly those pages, and the C -
 * queues idle channels map theirs now and keep them until teardown (no
 * traffic reaches them). */
static int channels_open(nic_t *n)
{
    const gen_nic_params_t *p = n->p;
    uint64_t per = n->ring_desc * p->ppd, total = p->channels * per;
    uint32_t *order = malloc(total * sizeof *order);
    n->idle = malloc((p->channels - n->nq) * per * sizeof *n->idle);
    if (!order || !n->idle) {
        free(order);
        return iosim_err_set(n->err, "gen nic: out of memory");
    }
    for (uint64_t i = 0; i < total; i++)
        order[i] = (uint32_t)(i / per);
    gen_rng_t rng = {p->seed ^ 0x6368616e6e656c73ULL}; /* "channels" */
    for (uint64_t i = total - 1; i > 0; i--) {         /* Fisher-Yates */
        uint64_t j = gen_rng_next(&rng) % (i + 1);
        uint32_t c = order[i];
        order[i] = order[j];
        order[j] = c;
    }
    for (uint64_t i = 0; i < n->nq; i++) {
        nic_prefill_t *f = &n->prefill[n->qs[i].cpu];
        f->n += per;
    }
    int rc = 0;
    for (uint64_t c = 0; c < p->cpus && !rc; c++) {
        nic_prefill_t *f = &n->prefill[c];
        if (f->n && !(f->pfn = malloc(f->n * sizeof *f->pfn)))
            rc = iosim_err_set(n->err, "gen nic: out of memory");
        f->n = 0;
    }
    for (uint64_t k = 0; k < total && !rc; k++) {
        /* records carry cpu i % --cpus: the trace has --cpus cpus */
        bool used = order[k] < n->nq;
        uint8_t cpu =
            used ? n->qs[order[k]].cpu : (uint8_t)(n->nidle % p->cpus);
        uint64_t iova;
        if (iova_alloc(n, cpu, 1, &iova)) {
            rc = -1;
        } else if (used) {
            nic_prefill_t *f = &n->prefill[cpu];
            f->pfn[f->n++] = iova / NIC_PAGE;
        } else {
            nic_page_t *pg = &n->idle[n->nidle++];
            pg->iova = iova;
            pg->phys = phys_alloc(n);
            rc = emit(n, IOSIM_REC_MAP, cpu, pg->iova, NIC_PAGE, pg->phys,
                      IOSIM_PROT_WRITE);
        }
    }
    free(order);
    return rc;
}

static nic_page_t ring_pop(nic_rxq_t *q)
{
    nic_page_t pg = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return pg;
}

static int tx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes);

/* The ACKs flow f owes for the data packets it received since the last
 * poll.  Default: one per --ack-every data packets.  --gro-segments G:
 * GRO (flushed at the end of the poll) merges them into skbs of up to G
 * segments; TCP acks at once when an skb brings more than one full
 * segment (net/ipv4/tcp_input.c __tcp_ack_snd_check: rcv_nxt - rcv_wup
 * > rcv_mss) and otherwise every second 1-segment skb (delayed ACK). */
static int flow_acks(nic_t *n, nic_flow_t *f)
{
    const gen_nic_params_t *p = n->p;
    if (!p->ack_every) {
        f->pending_data = 0;
        return 0;
    }
    if (!p->gro_segs) {
        for (; f->pending_data; f->pending_data--)
            if (++f->rx_data % p->ack_every == 0 &&
                tx_packet(n, f, p->ack_bytes))
                return -1;
        return 0;
    }
    while (f->pending_data) {
        uint64_t segs =
            f->pending_data < p->gro_segs ? f->pending_data : p->gro_segs;
        f->pending_data -= segs;
        bool ack = segs >= 2 || ++f->gro_single >= 2;
        if (ack) {
            f->gro_single = 0; /* an ACK covers everything received */
            if (tx_packet(n, f, p->ack_bytes))
                return -1;
        }
    }
    return 0;
}

/* NAPI poll of rx queue q: release the pages of used-up descriptors
 * (unmap, or with --rx-cache keep them mapped in the cache), send the
 * ACKs of the flows the queue serves, repost used-up descriptors. */
static int rxq_poll_work(nic_t *n, nic_rxq_t *q)
{
    if (n->p->rx_cache)
        rx_cache_deliver(n, q);
    for (size_t i = 0; i < q->npending; i++)
        if (rx_page_release(n, q, &q->pending[i]))
            return -1;
    q->npending = 0;
    q->pending_pkts = 0;
    for (uint64_t i = (uint64_t)(q - n->qs); i < n->p->flows; i += n->nq)
        if (flow_acks(n, &n->flows[i]))
            return -1;
    return ring_refill(n, q);
}

/* With --unmap-ns the poll's records go to q's cpu stream, which starts
 * when the cpu is free again (a poll waits for the previous one). */
static int rxq_poll(nic_t *n, nic_rxq_t *q)
{
    if (!n->p->unmap_ns)
        return rxq_poll_work(n, q);
    nic_cpu_t *c = &n->cpu_s[q->cpu];
    if (c->t < n->t)
        c->t = n->t;
    n->cpu_on = c;
    int rc = rxq_poll_work(n, q);
    n->cpu_on = NULL;
    return rc;
}

/* --unmap-ns: the device is about to use pages pg[0..np): the cpu must
 * have posted them. */
static int device_needs(nic_t *n, nic_rxq_t *q, const nic_page_t *pg,
                        uint64_t np)
{
    uint64_t until = 0;
    for (uint64_t i = 0; i < np; i++)
        if (pg[i].post_t > until)
            until = pg[i].post_t;
    return n->p->unmap_ns && until > n->t
               ? cpu_flush_forced(n, &n->cpu_s[q->cpu], until)
               : 0;
}

/* --stride: the open descriptor is used up; its pages go back at the
 * next poll (mlx5 releases a multi-packet WQE's pages when its last
 * stride is consumed). */
static void wqe_close(nic_t *n, nic_rxq_t *q)
{
    for (uint64_t i = 0; i < n->p->ppd; i++)
        q->pending[q->npending++] = q->wqe[i];
    q->wqe_open = false;
    q->ndesc--;
}

/* The device writes a bytes-long packet into rx queue q (page mode). */
static int rx_pages(nic_t *n, nic_rxq_t *q, uint64_t bytes)
{
    uint64_t np = pages_for(bytes);
    if (q->cur_left && q->cur_left < np) {
        /* the packet does not fit the rest of the descriptor: those
         * pages go back unused at the next poll */
        for (; q->cur_left; q->cur_left--)
            q->pending[q->npending++] = ring_pop(q);
        q->ndesc--;
    }
    if (q->cur_left == 0) {
        if (q->ndesc == 0 && rxq_poll(n, q)) /* ring ran dry: poll now */
            return -1;
        q->cur_left = n->p->ppd;
        /* --stagger-wqes: the first descriptor is partly used already;
         * those pages go back unused at the next poll */
        uint64_t skip = q->skip_pkts * pages_for(rx_bytes_of(n->p));
        for (; skip && q->cur_left > np; skip--) {
            q->pending[q->npending++] = ring_pop(q);
            q->cur_left--;
        }
        q->skip_pkts = 0;
        /* the device fetches the WQE of the descriptor it starts */
        if (n->p->device_rings &&
            ring_access(n, q->cpu, q->rq_iova, q->rq_pages, &q->rq_idx, false))
            return -1;
    }
    nic_page_t *pg = &q->pending[q->npending];
    for (uint64_t i = 0; i < np; i++) {
        q->pending[q->npending] = ring_pop(q);
        q->pending[q->npending++].free_at = NIC_UNDELIVERED;
    }
    if (device_needs(n, q, pg, np) || dma_pages(n, q->cpu, pg, np, bytes, true))
        return -1;
    q->cur_left -= np;
    if (q->cur_left == 0)
        q->ndesc--;
    return 0;
}

/* The device writes a bytes-long packet into rx queue q (--stride). */
static int rx_strides(nic_t *n, nic_rxq_t *q, uint64_t bytes)
{
    uint64_t len = stride_len(n->p, bytes);
    uint64_t wqe_bytes = n->p->ppd * NIC_PAGE;
    if (q->wqe_open && q->wqe_off + len > wqe_bytes)
        wqe_close(n, q); /* the rest of the WQE is a filler */
    if (!q->wqe_open) {
        if (q->ndesc == 0 && rxq_poll(n, q)) /* ring ran dry: poll now */
            return -1;
        for (uint64_t i = 0; i < n->p->ppd; i++)
            q->wqe[i] = ring_pop(q);
        q->wqe_open = true;
        q->wqe_off = q->skip_pkts * len; /* --stagger-wqes */
        q->skip_pkts = 0;
        if (device_needs(n, q, q->wqe, n->p->ppd))
            return -1;
        if (n->p->device_rings &&
            ring_access(n, q->cpu, q->rq_iova, q->rq_pages, &q->rq_idx, false))
            return -1;
    }
    if (dma_span(n, q->cpu, q->wqe, q->wqe_off, bytes))
        return -1;
    for (uint64_t pg = q->wqe_off / NIC_PAGE;
         pg <= (q->wqe_off + bytes - 1) / NIC_PAGE; pg++)
        q->wqe[pg].free_at = NIC_UNDELIVERED;
    q->wqe_off += len;
    if (q->wqe_off == wqe_bytes)
        wqe_close(n, q);
    return 0;
}

/* A bytes-long packet of flow f arrives; data says whether TCP
 * acknowledges it. */
static int rx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes, bool data)
{
    nic_rxq_t *q = f->q;
    if (n->p->stride ? rx_strides(n, q, bytes) : rx_pages(n, q, bytes))
        return -1;
    if (n->p->device_rings && /* the completion of this packet */
        ring_access(n, q->cpu, q->cq_iova, q->cq_pages, &q->cq_idx, true))
        return -1;
    f->pending_data += data;
    q->rx_pkts++;
    if (++q->pending_pkts >= n->p->napi_batch)
        return rxq_poll(n, q);
    return 0;
}

/* The driver sends a bytes-long buffer: map, device read, unmap at once
 * (the tx completion is not batched: gen-nic.md Assumptions). */
static int tx_packet(nic_t *n, nic_flow_t *f, uint64_t bytes)
{
    uint64_t np = pages_for(bytes);
    for (uint64_t i = 0; i < np; i++)
        if (map_page(n, f->cpu, false, &n->tmp[i]))
            return -1;
    if (n->p->device_rings &&
        ring_access(n, f->cpu, f->q->sq_iova, 1, &f->q->sq_idx, false))
        return -1;
    if (dma_pages(n, f->cpu, n->tmp, np, bytes, false))
        return -1;
    if (n->p->device_rings &&
        ring_access(n, f->cpu, f->q->txcq_iova, 1, &f->q->txcq_idx, true))
        return -1;
    for (uint64_t i = 0; i < np; i++)
        if (unmap_page(n, f->cpu, &n->tmp[i]))
            return -1;
    return 0;
}

static bool nic_done(const nic_t *n)
{
    if (n->p->packets)
        return n->packets >= n->p->packets;
    return (double)n->t >= n->p->duration_s * 1e9;
}

static int data_packet(nic_t *n, nic_flow_t *f, bool rx)
{
    const gen_nic_params_t *p = n->p;
    if (emit(n, IOSIM_REC_MARK, f->cpu, 0, 0, n->packets, IOSIM_MARK_REQUEST))
        return -1;
    n->packets++;
    if (rx) {
        return rx_packet(n, f, rx_bytes_of(p), true);
    } else {
        if (tx_packet(n, f, p->mtu))
            return -1;
        if (p->ack_every && ++f->tx_data % p->ack_every == 0)
            return rx_packet(n, f, p->ack_bytes, false);
    }
    return 0;
}

static int nic_run(nic_t *n)
{
    const gen_nic_params_t *p = n->p;
    for (uint64_t i = 0; p->device_rings && i < n->nq; i++)
        if (rings_create(n, i))
            return -1;
    if (p->channels > n->nq && channels_open(n))
        return -1;
    for (uint64_t i = 0; i < n->nq; i++)
        if (ring_refill(n, &n->qs[i]))
            return -1;
    /* --stagger-polls: queue i is i/nq of a poll period ahead */
    for (uint64_t i = 0; p->stagger_polls && i < n->nq; i++)
        n->qs[i].pending_pkts = i * p->napi_batch / n->nq;
    /* --stagger-wqes: queue i is i/nq of a descriptor ahead */
    for (uint64_t i = 0; p->stagger_wqes && i < n->nq; i++)
        n->qs[i].skip_pkts = i * pkts_per_desc(p) / n->nq;
    if (emit(n, IOSIM_REC_MARK, 0, 0, 0, 0, IOSIM_MARK_BEGIN))
        return -1;
    /* ps per slot: mtu bytes * 8 bit / rate Gbit/s = ns; x1000 */
    uint64_t step_ps = (uint64_t)((double)p->mtu * 8000.0 / p->rate_gbps + 0.5);
    uint64_t t_ps = 0;
    for (uint64_t turn = 0; !nic_done(n); turn++) {
        nic_flow_t *f = &n->flows[turn / p->burst % p->flows];
        if ((p->direction & GEN_NIC_RX) && data_packet(n, f, true))
            return -1;
        if ((p->direction & GEN_NIC_TX) && !nic_done(n) &&
            data_packet(n, f, false))
            return -1;
        t_ps += step_ps;
        n->t = t_ps / 1000;
    }
    /* a last poll of every queue, so every packet is consumed and every
     * data packet gets its ACKs */
    for (uint64_t i = 0; i < n->nq; i++)
        if ((n->qs[i].npending || n->qs[i].pending_pkts) &&
            rxq_poll(n, &n->qs[i]))
            return -1;
    /* --unmap-ns: the cpus finish their streams before the window ends */
    if (p->unmap_ns) {
        if (cpu_flush_due(n, UINT64_MAX))
            return -1;
        if (n->t < n->last_t)
            n->t = n->last_t;
    }
    if (emit(n, IOSIM_REC_MARK, 0, 0, 0, 0, IOSIM_MARK_END))
        return -1;
    for (uint64_t i = 0; i < n->nq; i++) {
        nic_rxq_t *q = &n->qs[i];
        for (uint64_t k = 0; q->wqe_open && k < p->ppd; k++)
            if (unmap_page(n, q->cpu, &q->wqe[k]))
                return -1;
        q->wqe_open = false;
        while (q->count) {
            nic_page_t pg = ring_pop(q);
            if (unmap_page(n, q->cpu, &pg))
                return -1;
        }
        /* --rx-cache: closing the rq unmaps the cached pages (en_main.c
         * mlx5e_free_rq: mlx5e_page_release_dynamic(recycle = false)) */
        for (; q->cache_count; q->cache_count--) {
            if (unmap_page(n, q->cpu, &q->cache[q->cache_head]))
                return -1;
            q->cache_head = (q->cache_head + 1) & (p->rx_cache - 1);
        }
        if (p->device_rings && rings_destroy(n, i))
            return -1;
    }
    for (uint64_t i = 0; i < n->nidle; i++)
        if (unmap_page(n, (uint8_t)(i % p->cpus), &n->idle[i]))
            return -1;
    return 0;
}

int gen_nic_write(const gen_nic_params_t *p, const char *path, bool text,
                  iosim_err_t *err)
{
    if (gen_nic_check(p, err))
        return -1;
    nic_t n;
    memset(&n, 0, sizeof n);
    n.p = p;
    n.err = err;
    n.ring_desc = ring_desc_of(p);
    n.pkt_pages = pages_for(p->mtu);
    n.ack_pages = pages_for(p->ack_bytes);
    n.nq = rxq_count(p);
    n.iovad = iova_dma_domain_new((unsigned)p->cpus);
    gen_rng_t rng = {p->seed};
    n.phys_mul = gen_rng_next(&rng) | 1;
    n.phys_add = gen_rng_next(&rng);
    n.flows = calloc(p->flows, sizeof *n.flows);
    n.qs = calloc(n.nq, sizeof *n.qs);
    n.prefill = calloc(p->cpus, sizeof *n.prefill);
    n.cpu_s = calloc(p->cpus, sizeof *n.cpu_s);
    bool merge_ok = trace_merge_init(&n.cpu_m, p->cpus) == 0;
    n.tmp = calloc(n.pkt_pages > n.ack_pages ? n.pkt_pages : n.ack_pages,
                   sizeof *n.tmp);
    int rc = -1;
    if (!n.iovad || !n.flows || !n.qs || !n.prefill || !n.cpu_s || !merge_ok ||
        !n.tmp) {
        iosim_err_set(err, "gen nic: out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n.nq; i++) {
        nic_rxq_t *q = &n.qs[i];
        q->cpu = (uint8_t)(i % p->cpus);
        q->cap = n.ring_desc * p->ppd;
        q->ring = calloc(q->cap, sizeof *q->ring);
        q->pending = calloc(q->cap, sizeof *q->pending);
        q->wqe = calloc(p->ppd, sizeof *q->wqe);
        q->cache = p->rx_cache ? calloc(p->rx_cache, sizeof *q->cache) : NULL;
        if (!q->ring || !q->pending || !q->wqe || (p->rx_cache && !q->cache)) {
            iosim_err_set(err, "gen nic: out of memory");
            goto out;
        }
    }
    for (uint64_t i = 0; i < p->flows; i++) {
        n.flows[i].cpu = (uint8_t)(i % p->cpus);
        n.flows[i].q = &n.qs[i % n.nq];
    }

    iosim_trace_meta_t meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.source, sizeof meta.source, "gen-nic");
    snprintf(meta.workload, sizeof meta.workload, "nic-%s",
             p->direction == GEN_NIC_RX   ? "rx"
             : p->direction == GEN_NIC_TX ? "tx"
                                          : "both");
    snprintf(meta.time_unit, sizeof meta.time_unit, "ns");
    meta.cpus = (uint32_t)p->cpus;
    /* --driver-only: the device's accesses come from the device model
     * that says it completes this generator's traces */
    meta.has_dma = p->driver_only ? 0 : 1;
    if (p->driver_only)
        snprintf(meta.device, sizeof meta.device, "%s",
                 iosim_dev_model_completing(meta.source));
    /* and the layout of that device half, as replay defaults */
    if (gen_meta_implies(gen_nic_implies, p, &meta, err))
        goto out;
    n.o = gen_out_create(path, &meta, text, err);
    if (!n.o)
        goto out;
    if (nic_run(&n)) {
        gen_out_abort(n.o);
        goto out;
    }
    rc = gen_out_commit(n.o, err);
out:
    if (n.qs)
        for (uint64_t i = 0; i < n.nq; i++) {
            free(n.qs[i].ring);
            free(n.qs[i].pending);
            free(n.qs[i].wqe);
            free(n.qs[i].cache);
        }
    if (n.prefill)
        for (uint64_t i = 0; i < p->cpus; i++)
            free(n.prefill[i].pfn);
    if (n.cpu_s)
        for (uint64_t i = 0; i < p->cpus; i++)
            free(n.cpu_s[i].recs);
    free(n.cpu_s);
    free(n.flows);
    free(n.qs);
    free(n.prefill);
    if (merge_ok)
        trace_merge_free(&n.cpu_m);
    iova_domain_free(n.iovad);
    free(n.tmp);
    free(n.idle);
    return rc;
}
