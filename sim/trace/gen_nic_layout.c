/* gen_nic_layout.c — `gen nic`: what its options make (descriptors per
 * rx ring, queues, the live-page bound), their checks, and what a
 * --driver-only trace implies for the device model that completes it.
 * Sources: docs/gen-nic.md; gen_nic_internal.h says how the files
 * divide the generator. */
#include "base/bits.h"
#include "trace/gen_nic_internal.h"

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

uint64_t nic_ring_desc_of(const gen_nic_params_t *p)
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

uint64_t nic_rxq_count(const gen_nic_params_t *p)
{
    return p->queue_per_cpu && p->cpus < p->flows ? p->cpus : p->flows;
}

uint64_t gen_nic_live_bound(const gen_nic_params_t *p)
{
    uint64_t tx = pages_for(p->mtu);
    uint64_t ack = pages_for(p->ack_bytes);
    uint64_t cached = p->rx_cache ? p->rx_cache - 1 : 0;
    uint64_t idle =
        p->channels > nic_rxq_count(p) ? p->channels - nic_rxq_count(p) : 0;
    return nic_rxq_count(p) * (nic_ring_desc_of(p) * p->ppd + cached) +
           idle * nic_ring_desc_of(p) * p->ppd + (tx > ack ? tx : ack);
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
    if (p->channels && p->channels < nic_rxq_count(p))
        return iosim_err_set(err,
                             "gen nic: --channels %llu is fewer than the "
                             "%llu rx queues the flows use",
                             (unsigned long long)p->channels,
                             (unsigned long long)nic_rxq_count(p));
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
/* The device model's gen-nic profile lays out the device half for a
 * --driver-only rx trace whose queues each have a cpu of their own, with
 * no idle channels and a stride it can take (docs/dev-mlx5.md, "gen nic
 * --driver-only": --channels, --direction tx|both and several queues
 * per cpu are not covered); for any other trace nothing is implied and
 * the configuration says what the model runs. */
static bool implies_covered(const gen_nic_params_t *p)
{
    return p->driver_only && p->direction == GEN_NIC_RX && p->channels == 0 &&
           nic_rxq_count(p) <= p->cpus &&
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
IMPLY_U64(imp_channels, nic_rxq_count(p), true)
IMPLY_U64(imp_rx_wqes, nic_ring_desc_of(p), p->device_rings)
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
     "takes one set of rings per queue (nic_rxq_count)", imp_channels},
    {"rings", "traced with --device-rings, else none",
     "--device-rings maps each queue's RQ, CQ, SQ and tx CQ before any "
     "buffer (nic_rings_create); without it no ring is mapped or accessed",
     imp_rings},
    {"rx_wqes", "--ring packets / packets per descriptor (--rq-sizing "
     "mlx5: mlx5's rule), with --device-rings",
     "the RQ has nic_ring_desc_of descriptors (nic_rings_create)", imp_rx_wqes},
    {"rx_cqes", "--ring, with --device-rings",
     "one CQ entry per --ring packet (nic_rings_create)", imp_rx_cqes},
    {"tx_wqes", "64, with --device-rings",
     "the SQ is one 4 KB page of 64 B entries (nic_rings_create)",
     imp_tx_entries},
    {"tx_cqes", "64, with --device-rings",
     "the tx CQ is one 4 KB page of 64 B entries (nic_rings_create)",
     imp_tx_entries},
    {"wqe_bytes", "64, with --device-rings",
     "a WQE read is one 64 B ring entry (nic_ring_access)", imp_entry_bytes},
    {"cqe_bytes", "64, with --device-rings",
     "a CQE write is one 64 B ring entry (nic_ring_access)", imp_entry_bytes},
    {"pages_per_wqe", "--pages-per-descriptor",
     "a descriptor holds that many pages (nic_ring_refill)", imp_pages_per_wqe},
    {"stride", "--stride, 4096 without it",
     "packets are packed at --stride granules (rx_strides); without it a "
     "packet takes whole pages, the profile's 4 KB strides (rx_pages)",
     imp_stride},
    {"packet_bytes", "--mtu + --rx-header",
     "the bytes the device writes per rx packet (rx_bytes_of)",
     imp_packet_bytes},
    {"mps", "4096", "the generator writes one DMA record per 4 KB page "
     "(nic_dma_pages, dma_span); the model cuts writes at mps", imp_page},
    {"mrrs", "4096", "the generator reads one DMA record per 4 KB page "
     "(nic_dma_pages); the model cuts reads at mrrs", imp_page},
    {"tx_bytes", "--ack-bytes", "an ACK maps a page and the device reads "
     "--ack-bytes of it (nic_tx_packet)", imp_tx_bytes},
    {"stagger_wqes", "--stagger-wqes",
     "queues start at spread descriptor offsets (the generator's "
     "--stagger-wqes)", imp_stagger},
    {"rx_per_mark", "1", "a MARK request precedes every data packet",
     imp_one},
    {NULL, NULL, NULL, NULL},
};
// clang-format on
