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
    memset(p, 0, sizeof *p);
    p->page_size = 2ULL << 20;
    /* testpmd init_config() without --total-num-mbufs:
     * (RTE_TEST_RX_DESC_MAX 2048 + nb_lcores 3 x mempool cache 250 +
     * RTE_TEST_TX_DESC_MAX 2048 + MAX_PKT_BURST 512) x RTE_MAX_ETHPORTS 32
     * (app/test-pmd/testpmd.[ch]; guest testpmd runs on -l 0,1,2 in the
     * PVP reference benchmark) = 5358 x 32 */
    p->mbufs = 171456;
    p->obj_size = GEN_PVP_OBJ_HDR + GEN_PVP_MBUF_STRUCT + GEN_PVP_HEADROOM +
                  2048;  /* RTE_MBUF_DEFAULT_DATAROOM */
    p->ring_size = 256;  /* --rxd=256 --txd=256, rx_queue_size='256' */
    p->vrings = 4;       /* two virtio-net devices, one rx + one tx queue */
    p->packets = 200000; /* illustrative run length, not a measured value */
    p->pkt_size = 64;    /* Coquelin's PVP parameters: 64B packets */
    p->hdr_size = 12;    /* struct virtio_net_hdr_mrg_rxbuf (virtio 1.0) */
    p->seed = 1;
    p->iova_base = 1ULL << 30; /* placeholder guest IOVA (= GPA) */
    p->domain = 1;
    p->device = 0x0010; /* 00:02.0: placeholder */
    /* 10 GbE line rate at 64 B: 1e10 / ((64 + 20) x 8) = 14.88 Mpps per
     * direction (2 x 10G X710, Coquelin's testbed): timestamps only */
    p->rate_mpps = 14.88;
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
/* Command-line front end                                              */
/* ------------------------------------------------------------------ */
static int pvp_run(int argc, char **argv, const char *path, bool text,
                   iosim_err_t *err)
{
    gen_pvp_params_t p;
    gen_pvp_defaults(&p);
    // clang-format off
    const gen_opt_t opts[] = {
        {"--page-size", GEN_OPT_U64, &p.page_size, 1, 0, NULL, NULL},
        {"--mbufs", GEN_OPT_U64, &p.mbufs, 1, 0, NULL, NULL},
        {"--obj-size", GEN_OPT_U64, &p.obj_size, 1, 0, NULL, NULL},
        {"--ring-size", GEN_OPT_U64, &p.ring_size, 1, 0, NULL, NULL},
        {"--vrings", GEN_OPT_U64, &p.vrings, 0, 64, NULL, NULL},
        {"--packets", GEN_OPT_U64, &p.packets, 0, 0, NULL, NULL},
        {"--pkt-size", GEN_OPT_U64, &p.pkt_size, 1, 0, NULL, NULL},
        {"--hdr-size", GEN_OPT_U64, &p.hdr_size, 0, 0, NULL, NULL},
        {"--seed", GEN_OPT_U64, &p.seed, 0, 0, NULL, NULL},
        {"--iova-base", GEN_OPT_U64, &p.iova_base, 0, 0, NULL, NULL},
        {"--domain", GEN_OPT_U64, &p.domain, 0, 0xffff, NULL, NULL},
        {"--device", GEN_OPT_BDF, &p.device, 0, 0, NULL, NULL},
        {"--rate", GEN_OPT_DOUBLE, &p.rate_mpps, 0, 0, NULL, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    // clang-format on
    if (gen_parse_opts("pvp", opts, argc, argv, err))
        return -1;
    return gen_pvp_write(&p, path, text, err);
}

const gen_kind_t gen_kind_pvp = {
    .name = "pvp",
    .summary = "PVP 64 B through a vhost-user backend: guest mbuf pool and "
               "rings mapped once in hugepages, two buffer accesses per "
               "packet",
    .usage =
        "  --page-size 4K|2M|1G  guest hugepage size (default 2M)\n"
        "  --mbufs N          objects in the guest mbuf pool (default "
        "171456, testpmd's default pool)\n"
        "  --obj-size BYTES   bytes per pool object (default 2368)\n"
        "  --ring-size N      descriptors per virtqueue (default 256)\n"
        "  --vrings N         virtqueues after the pool (default 4)\n"
        "  --packets N        measured packets (default 200000)\n"
        "  --pkt-size BYTES   packet size (default 64)\n"
        "  --hdr-size BYTES   virtio-net header (default 12)\n"
        "  --seed S           PRNG seed (default 1)\n"
        "  --iova-base ADDR   guest IOVA of the pool, page aligned "
        "(default 0x40000000)\n"
        "  --device BB:DD.F   source id (default 00:02.0)\n"
        "  --domain D         domain id (default 1)\n"
        "  --rate MPPS        packet rate for timestamps (default 14.88)\n",
    .defaults_note =
        "defaults: the DPDK PVP reference benchmark as Coquelin ran it "
        "(testpmd's\n"
        "  default pool and object size, 256-entry rings, two devices, 64 B\n"
        "  packets, the virtio-net mergeable header, 10 GbE line rate at\n"
        "  64 B; sources in sim/trace/gen_pvp.c); --packets, --iova-base and\n"
        "  --device are illustrative\n",
    .run = pvp_run,
};
