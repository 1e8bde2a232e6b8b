/* gen_nic.c — `gen nic`: an mlx5-style NIC driver under Linux's DMA API,
 * the setup of Rubin et al., "Fast & Safe IO Memory Protection", SOSP'24
 * (FIGURES.md §1).  The manual, with every mechanism, option and source
 * read, is docs/gen-nic.md; its options (table, defaults, the command
 * line's checks) are gen_nic_opts.c, and gen_nic_internal.h lists the
 * files its jobs are split into (this one: the packet loop and
 * gen_nic_write).
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
 *   - Optional mechanisms (off by default), each in the file of its job: device
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
#include <stdlib.h>
#include <string.h>

#include "trace/gen_nic_internal.h"

static bool nic_done(const nic_t *n)
{
    if (n->p->packets)
        return n->packets >= n->p->packets;
    return (double)n->t >= n->p->duration_s * 1e9;
}

static int data_packet(nic_t *n, nic_flow_t *f, bool rx)
{
    const gen_nic_params_t *p = n->p;
    if (nic_emit(n, IOSIM_REC_MARK, f->cpu, 0, 0, n->packets,
                 IOSIM_MARK_REQUEST))
        return -1;
    n->packets++;
    if (rx) {
        return nic_rx_packet(n, f, rx_bytes_of(p), true);
    } else {
        if (nic_tx_packet(n, f, p->mtu))
            return -1;
        if (p->ack_every && ++f->tx_data % p->ack_every == 0)
            return nic_rx_packet(n, f, p->ack_bytes, false);
    }
    return 0;
}

static int nic_run(nic_t *n)
{
    const gen_nic_params_t *p = n->p;
    for (uint64_t i = 0; p->device_rings && i < n->nq; i++)
        if (nic_rings_create(n, i))
            return -1;
    if (p->channels > n->nq && nic_channels_open(n))
        return -1;
    for (uint64_t i = 0; i < n->nq; i++)
        if (nic_ring_refill(n, &n->qs[i]))
            return -1;
    /* --stagger-polls: queue i is i/nq of a poll period ahead */
    for (uint64_t i = 0; p->stagger_polls && i < n->nq; i++)
        n->qs[i].pending_pkts = i * p->napi_batch / n->nq;
    /* --stagger-wqes: queue i is i/nq of a descriptor ahead */
    for (uint64_t i = 0; p->stagger_wqes && i < n->nq; i++)
        n->qs[i].skip_pkts = i * pkts_per_desc(p) / n->nq;
    if (nic_emit(n, IOSIM_REC_MARK, 0, 0, 0, 0, IOSIM_MARK_BEGIN))
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
            nic_rxq_poll(n, &n->qs[i]))
            return -1;
    /* --unmap-ns: the cpus finish their streams before the window ends */
    if (p->unmap_ns) {
        if (nic_cpu_flush_due(n, UINT64_MAX))
            return -1;
        if (n->t < n->last_t)
            n->t = n->last_t;
    }
    if (nic_emit(n, IOSIM_REC_MARK, 0, 0, 0, 0, IOSIM_MARK_END))
        return -1;
    for (uint64_t i = 0; i < n->nq; i++) {
        nic_rxq_t *q = &n->qs[i];
        for (uint64_t k = 0; q->wqe_open && k < p->ppd; k++)
            if (nic_unmap_page(n, q->cpu, &q->wqe[k]))
                return -1;
        q->wqe_open = false;
        while (q->count) {
            nic_page_t pg = nic_ring_pop(q);
            if (nic_unmap_page(n, q->cpu, &pg))
                return -1;
        }
        /* --rx-cache: closing the rq unmaps the cached pages (en_main.c
         * mlx5e_free_rq: mlx5e_page_release_dynamic(recycle = false)) */
        for (; q->cache_count; q->cache_count--) {
            if (nic_unmap_page(n, q->cpu, &q->cache[q->cache_head]))
                return -1;
            q->cache_head = (q->cache_head + 1) & (p->rx_cache - 1);
        }
        if (p->device_rings && nic_rings_destroy(n, i))
            return -1;
    }
    for (uint64_t i = 0; i < n->nidle; i++)
        if (nic_unmap_page(n, (uint8_t)(i % p->cpus), &n->idle[i]))
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
    n.ring_desc = nic_ring_desc_of(p);
    n.pkt_pages = pages_for(p->mtu);
    n.ack_pages = pages_for(p->ack_bytes);
    n.nq = nic_rxq_count(p);
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
