/* gen_pvp.c — `gen pvp`: the PVP (physical -> virtual -> physical) 64 B
 * benchmark as the vhost-user backend's software device-IOTLB sees it
 * (Coquelin, "Improve VNF safety with Vhost-User/DPDK IOMMU support",
 * DPDK Userspace 2017, slides "Physical -> Virtual ->
 * Physical"; setup of DPDK doc/guides/howto/pvp_reference_benchmark.rst,
 * the "PVP reference benchmark" the slide names).
 *
 * Concepts:
 *   - Guest memory: the guest testpmd's mbuf pool followed by the
 *     virtqueue rings, laid out from --iova-base in guest IOVA space.
 *     The Virtio PMD uses static mappings (Coquelin's slide "Static vs.
 *     dynamic mappings": one dma_map() for all memory pools at probe), so
 *     the whole region is mapped once at start, one MAP per hugepage of
 *     --page-size (2M or 1G: the slide's "2M/2M" and "1G/1G" hugepages),
 *     contiguous in IOVA and in physical address (slide "Contiguous IOTLB
 *     entries merging": most entries are both virtually and physically
 *     contiguous).  The MAP's physical address stands for QEMU's virtual
 *     address of that guest memory, the `uaddr` of a backend entry.
 *   - Warm-up (before MARK BEGIN): one 64 B read at the start of every
 *     mapped page, the first-access IOTLB misses of static mappings (same
 *     slide: "Only IOTLB misses the first time pages are accessed"); the
 *     backend's cache is sized so that no miss follows (slide "IOTLB cache
 *     implementation").  This includes the rings, which the backend
 *     translates once when the ring addresses are set.
 *   - Measurement: per packet a MARK request, then the host vhost
 *     enqueue (a DMA write of the virtio-net header + packet into the
 *     guest rx buffer) and the host vhost dequeue (a DMA read of the same
 *     buffer after the guest macswaps it and sends it back: testpmd
 *     forwards the rx mbuf itself).  Each is one lookup in the backend's
 *     IOTLB cache.  The mbuf is drawn uniformly from the pool.
 *   - Object layout (DPDK rte_mempool / rte_mbuf): --obj-size bytes per
 *     pool object = 64 B object header + 128 B struct rte_mbuf + 128 B
 *     headroom + 2048 B data room = 2368; the Virtio PMD posts the rx
 *     descriptor at the data start minus the virtio-net header
 *     (headroom - hdr), and on tx pushes the header into the same
 *     headroom, so both accesses start at object offset
 *     64 + 128 + 128 - hdr.
 *   - Rings: --vrings virtqueues of --ring-size descriptors, each a
 *     legacy split vring (virtio spec 1.0 §2.4: 16 B descriptors, avail
 *     ring 2 x (3 + n) B, used ring 2 x 3 + 8 x n B after a 4096 B
 *     alignment), each starting 4096 B aligned after the pool.
 *   - Time: each packet advances t by 1000 / --rate ns (Mpps), kept in
 *     picoseconds; maps, warm-up and unmaps take no time.
 * Assumptions:
 *   - Every mbuf of the pool circulates (the pool's common ring is FIFO,
 *     so the per-lcore caches' refills and flushes cycle through all of
 *     it over a run); the seed attributes the 2 MB penalty to the number
 *     of IOTLB entries (slide "Contiguous IOTLB entries merging"), which
 *     needs buffers spread over many pages.
 *   - The rings follow the pool (memzones reserved after testpmd created
 *     its pool, in guest physical = IOVA order: placeholder).
 *   - The descriptor and used rings are read and written through the
 *     address translated at ring setup, not looked up per packet (DPDK
 *     vhost translates ring addresses once, ring_addr_to_vva, and looks
 *     up each descriptor's buffer, vhost_iova_to_vva: read in DPDK's
 *     lib/vhost sources, UNVERIFIED against 17.11 line by line).
 * Not modeled: host-side mbufs and NIC DMA (host memory, not in the guest
 *   IOTLB), per-virtqueue caches (the scheme keeps one list per domain),
 *   mergeable buffers spanning several descriptors (64 B packets never
 *   do), packet loss, the read lock taken per burst.
 */
#include <stddef.h>
#include <string.h>

#include "trace/gen.h"

/* QEMU-side address of the guest memory: placeholder, 1 GiB aligned so
 * that every page size keeps IOVA and physical address aligned alike. */
#define GEN_PVP_PHYS_BASE 0x1000000000ULL
/* 4-level second-stage tables translate 48-bit addresses (VT-d §3.6). */
#define GEN_PVP_IOVA_LIMIT (1ULL << 48)
/* DPDK rte_mempool object header (cache-line aligned), struct rte_mbuf
 * (two cache lines), RTE_PKTMBUF_HEADROOM. */
#define GEN_PVP_OBJ_HDR 64u
#define GEN_PVP_MBUF_STRUCT 128u
#define GEN_PVP_HEADROOM 128u
/* virtio PCI legacy ring alignment (VIRTIO_PCI_VRING_ALIGN). */
#define GEN_PVP_VRING_ALIGN 4096u

void gen_pvp_defaults(gen_pvp_params_t *p)
{
    iosim_err_t err;
    /* the table's defaults parse (test_gen's test_registry) */
    if (gen_kind_defaults(&gen_kind_pvp, p, &err))
        memset(p, 0, sizeof *p);
}

uint64_t gen_pvp_vring_bytes(uint64_t n)
{
    uint64_t head = 16 * n + 2 * (3 + n);
    head = (head + GEN_PVP_VRING_ALIGN - 1) / GEN_PVP_VRING_ALIGN *
           GEN_PVP_VRING_ALIGN;
    return head + 2 * 3 + 8 * n;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Offset of ring i from the pool start. */
static uint64_t ring_offset(const gen_pvp_params_t *p, uint64_t i)
{
    uint64_t stride =
        align_up(gen_pvp_vring_bytes(p->ring_size), GEN_PVP_VRING_ALIGN);
    return align_up(p->mbufs * p->obj_size, GEN_PVP_VRING_ALIGN) + i * stride;
}

uint64_t gen_pvp_region_bytes(const gen_pvp_params_t *p)
{
    uint64_t end = p->vrings ? ring_offset(p, p->vrings - 1) +
                                   gen_pvp_vring_bytes(p->ring_size)
                             : p->mbufs * p->obj_size;
    return align_up(end, p->page_size);
}

uint64_t gen_pvp_buf_offset(const gen_pvp_params_t *p)
{
    return GEN_PVP_OBJ_HDR + GEN_PVP_MBUF_STRUCT + GEN_PVP_HEADROOM -
           p->hdr_size;
}

int gen_pvp_check(const gen_pvp_params_t *p, iosim_err_t *err)
{
    uint64_t ps = p->page_size;
    if (ps != 4096 && ps != (2ULL << 20) && ps != (1ULL << 30))
        return iosim_err_set(err,
                             "gen pvp: --page-size: %llu is not 4K, 2M "
                             "or 1G",
                             (unsigned long long)ps);
    if (p->mbufs == 0 || p->mbufs > (1ULL << 26))
        return iosim_err_set(err,
                             "gen pvp: --mbufs: %llu is not in [1, "
                             "2^26]",
                             (unsigned long long)p->mbufs);
    if (p->hdr_size > GEN_PVP_HEADROOM)
        return iosim_err_set(err,
                             "gen pvp: --hdr-size: %llu is larger than "
                             "the %u B headroom",
                             (unsigned long long)p->hdr_size, GEN_PVP_HEADROOM);
    if (p->pkt_size == 0 ||
        p->obj_size < gen_pvp_buf_offset(p) + p->hdr_size + p->pkt_size ||
        p->obj_size > (1ULL << 20))
        return iosim_err_set(err,
                             "gen pvp: --obj-size: %llu does not hold "
                             "the %u B of headers, the header and a "
                             "%llu B packet (or is over 1M)",
                             (unsigned long long)p->obj_size,
                             GEN_PVP_OBJ_HDR + GEN_PVP_MBUF_STRUCT +
                                 GEN_PVP_HEADROOM,
                             (unsigned long long)p->pkt_size);
    if (p->ring_size == 0 || p->ring_size > 32768 || p->vrings > 64)
        return iosim_err_set(err, "gen pvp: --ring-size must be in [1, "
                                  "32768] and --vrings at most 64");
    if (p->iova_base % ps)
        return iosim_err_set(err,
                             "gen pvp: --iova-base 0x%llx is not "
                             "aligned to the page size",
                             (unsigned long long)p->iova_base);
    uint64_t region = gen_pvp_region_bytes(p);
    if (p->iova_base >= GEN_PVP_IOVA_LIMIT ||
        region > GEN_PVP_IOVA_LIMIT - p->iova_base ||
        region > GEN_PVP_IOVA_LIMIT - GEN_PVP_PHYS_BASE)
        return iosim_err_set(err,
                             "gen pvp: --iova-base 0x%llx + %llu B of "
                             "guest memory does not fit 48 bits",
                             (unsigned long long)p->iova_base,
                             (unsigned long long)region);
    if (p->domain > 0xffff)
        return iosim_err_set(err, "gen pvp: --domain: %llu > 65535",
                             (unsigned long long)p->domain);
    if (!(p->rate_mpps > 0))
        return iosim_err_set(err, "gen pvp: --rate must be > 0");
    return 0;
}

static iosim_rec_t rec_base(const gen_pvp_params_t *p, uint8_t kind, uint64_t t)
{
    return gen_rec(kind, t, p->device, (uint16_t)p->domain);
}

static gen_window_t pvp_window(const gen_pvp_params_t *p)
{
    return (gen_window_t){.iova = p->iova_base,
                          .phys = GEN_PVP_PHYS_BASE,
                          .pages = gen_pvp_region_bytes(p) / p->page_size,
                          .page_size = p->page_size,
                          .device = p->device,
                          .domain = (uint16_t)p->domain};
}

/* One warm-up DMA read per page of the region, in order. */
static int warm_up(gen_out_t *o, const gen_pvp_params_t *p,
                   const gen_window_t *w, iosim_err_t *err)
{
    for (uint64_t i = 0; i < w->pages; i++) {
        iosim_rec_t r = rec_base(p, IOSIM_REC_DMA, 0);
        r.iova = w->iova + i * w->page_size;
        r.size = p->pkt_size;
        r.flags = IOSIM_DMA_READ;
        if (gen_out_put(o, &r, err))
            return -1;
    }
    return 0;
}

int gen_pvp_write(const gen_pvp_params_t *p, const char *path, bool text,
                  iosim_err_t *err)
{
    if (gen_pvp_check(p, err))
        return -1;
    iosim_trace_meta_t meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.source, sizeof meta.source, "gen-pvp");
    snprintf(meta.workload, sizeof meta.workload, "pvp-%llub-%s",
             (unsigned long long)p->pkt_size,
             p->page_size == (1ULL << 30)   ? "1g"
             : p->page_size == (2ULL << 20) ? "2m"
                                            : "4k");
    snprintf(meta.time_unit, sizeof meta.time_unit, "ns");
    meta.cpus = 1;
    meta.has_dma = 1;
    gen_out_t *o = gen_out_create(path, &meta, text, err);
    if (!o)
        return -1;

    uint64_t step_ps = (uint64_t)(1e6 / p->rate_mpps + 0.5);
    uint64_t t_ps = 0;
    uint64_t off = gen_pvp_buf_offset(p);
    uint64_t len = p->hdr_size + p->pkt_size;
    gen_rng_t rng = {p->seed};
    const gen_window_t w = pvp_window(p);

    if (gen_window_emit(o, &w, IOSIM_REC_MAP, 0, err) || warm_up(o, p, &w, err))
        goto fail;
    iosim_rec_t r = rec_base(p, IOSIM_REC_MARK, 0);
    r.flags = IOSIM_MARK_BEGIN;
    if (gen_out_put(o, &r, err))
        goto fail;
    for (uint64_t i = 0; i < p->packets; i++) {
        uint64_t t = t_ps / 1000;
        uint64_t buf =
            p->iova_base + gen_rng_below(&rng, p->mbufs) * p->obj_size + off;
        r = rec_base(p, IOSIM_REC_MARK, t);
        r.flags = IOSIM_MARK_REQUEST;
        r.aux = i;
        if (gen_out_put(o, &r, err))
            goto fail;
        for (int dir = 0; dir < 2; dir++) { /* enqueue, then dequeue */
            r = rec_base(p, IOSIM_REC_DMA, t);
            r.iova = buf;
            r.size = len;
            r.flags = dir == 0 ? IOSIM_DMA_WRITE : IOSIM_DMA_READ;
            if (gen_out_put(o, &r, err))
                goto fail;
        }
        t_ps += step_ps;
    }
    return gen_window_close(o, &w, t_ps / 1000, err);
fail:
    gen_out_abort(o);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
#define PO(f) offsetof(gen_pvp_params_t, f)
// clang-format off
static const gen_param_t pvp_params[] = {
    {"--page-size", "4K|2M|1G", GEN_OPT_U64, PO(page_size), "2M", 1, 0, NULL,
     "guest hugepage size",
     "Coquelin's PVP runs: guest hugepages 2M/2M (slide \"Physical -> "
     "Virtual -> Physical\")"},
    {"--mbufs", "N", GEN_OPT_U64, PO(mbufs), "171456", 1, 0, NULL,
     "objects in the guest mbuf pool",
     "testpmd's default pool: init_config() without --total-num-mbufs, "
     "(RTE_TEST_RX_DESC_MAX 2048 + nb_lcores 3 x mempool cache 250 + "
     "RTE_TEST_TX_DESC_MAX 2048 + MAX_PKT_BURST 512) x RTE_MAX_ETHPORTS 32 "
     "(app/test-pmd/testpmd.[ch]; the guest testpmd of the PVP reference "
     "benchmark runs on -l 0,1,2)"},
    {"--obj-size", "BYTES", GEN_OPT_U64, PO(obj_size), "2368", 1, 0, NULL,
     "bytes per pool object",
     "rte_mempool object header 64 + struct rte_mbuf 128 + "
     "RTE_PKTMBUF_HEADROOM 128 + RTE_MBUF_DEFAULT_DATAROOM 2048"},
    {"--ring-size", "N", GEN_OPT_U64, PO(ring_size), "256", 1, 0, NULL,
     "descriptors per virtqueue",
     "--rxd=256 --txd=256, rx_queue_size='256' (DPDK "
     "pvp_reference_benchmark.rst)"},
    {"--vrings", "N", GEN_OPT_U64, PO(vrings), "4", 0, 64, NULL,
     "virtqueues after the pool",
     "two virtio-net devices, one rx + one tx queue each"},
    {"--packets", "N", GEN_OPT_U64, PO(packets), "200000", 0, 0, NULL,
     "measured packets", NULL},
    {"--pkt-size", "BYTES", GEN_OPT_U64, PO(pkt_size), "64", 1, 0, NULL,
     "packet size", "Coquelin's PVP parameters: 64 B packets"},
    {"--hdr-size", "BYTES", GEN_OPT_U64, PO(hdr_size), "12", 0, 0, NULL,
     "virtio-net header",
     "struct virtio_net_hdr_mrg_rxbuf (virtio 1.0)"},
    {"--seed", "S", GEN_OPT_U64, PO(seed), "1", 0, 0, NULL, "PRNG seed",
     NULL},
    {"--iova-base", "ADDR", GEN_OPT_U64, PO(iova_base), "0x40000000", 0, 0,
     NULL, "guest IOVA of the pool, page aligned", NULL},
    {"--domain", "D", GEN_OPT_U64, PO(domain), "1", 0, 0xffff, NULL,
     "domain id", NULL},
    {"--device", "BB:DD.F", GEN_OPT_BDF, PO(device), "00:02.0", 0, 0, NULL,
     "source id", NULL},
    {"--rate", "MPPS", GEN_OPT_DOUBLE, PO(rate_mpps), "14.88", 0, 0, NULL,
     "packet rate for timestamps",
     "10 GbE line rate at 64 B: 1e10 / ((64 + 20) x 8) = 14.88 Mpps per "
     "direction (2 x 10G X710, Coquelin's testbed)"},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on
#undef PO

static int pvp_validate(void *opts, const bool *given, iosim_err_t *err)
{
    (void)given;
    return gen_pvp_check(opts, err);
}

static int pvp_write(const void *opts, const char *path, bool text,
                     iosim_err_t *err)
{
    return gen_pvp_write(opts, path, text, err);
}

const gen_kind_t gen_kind_pvp = {
    .name = "pvp",
    .summary = "PVP 64 B through a vhost-user backend: guest mbuf pool and "
               "rings mapped once in hugepages, two buffer accesses per "
               "packet",
    .params = pvp_params,
    .size = sizeof(gen_pvp_params_t),
    .notes = "the defaults are the DPDK PVP reference benchmark as Coquelin "
             "ran it;\n--packets, --iova-base and --device are "
             "illustrative\n",
    .validate = pvp_validate,
    .write = pvp_write,
    .implies_none = "its trace carries its own DMA records (has_dma=1), the "
                    "backend's lookups; which translation serves them "
                    "(os.policy=vhost-iotlb, or a hardware IOMMU to compare "
                    "with) is the experiment's choice, so the trace names "
                    "none (tests/validation/cases/vhost-iotlb-*.case set "
                    "it)",
};
