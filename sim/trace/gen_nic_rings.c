/* gen_nic_rings.c — `gen nic`: the device rings (--device-rings), the
 * v6.0 rx page cache (--rx-cache; en_rx.c mlx5e_rx_cache_put / _get),
 * posting rx descriptors and opening --channels.  gen_nic_internal.h
 * says how the files divide the generator. */
#include <stdlib.h>

#include "trace/gen_nic_internal.h"

/* ------------------------------------------------------------------ */
/* Device rings (--device-rings)                                      */
/* ------------------------------------------------------------------ */
/* A coherent ring of npages pages: one IOVA range (dma_alloc_coherent:
 * one iommu_dma_alloc_iova, so fewer than 32 pages are rounded up to a
 * power of two and naturally aligned), taken from the top of the space
 * (driver load comes before any buffer map), each page mapped read+write
 * (IOMMU_READ|IOMMU_WRITE). */
static int ring_map(nic_t *n, uint8_t cpu, uint64_t npages, uint64_t *iova)
{
    if (nic_iova_alloc(n, cpu, npages, iova))
        return -1;
    for (uint64_t i = 0; i < npages; i++)
        if (nic_emit(n, IOSIM_REC_MAP, cpu, *iova + i * NIC_PAGE, NIC_PAGE,
                     nic_phys_alloc(n), IOSIM_PROT_READ | IOSIM_PROT_WRITE))
            return -1;
    return 0;
}

static int ring_unmap(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t npages)
{
    for (uint64_t i = 0; i < npages; i++)
        if (nic_emit(n, IOSIM_REC_UNMAP, cpu, iova + i * NIC_PAGE, NIC_PAGE, 0,
                     0))
            return -1;
    nic_iova_free(n, cpu, iova, npages);
    return 0;
}

/* One 64 B device access to the next entry of a ring (wraps around). */
int nic_ring_access(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t npages,
                    uint64_t *idx, bool write)
{
    uint64_t entries = npages * NIC_PAGE / NIC_RING_ENTRY;
    uint64_t at = iova + (*idx % entries) * NIC_RING_ENTRY;
    ++*idx;
    return nic_emit(n, IOSIM_REC_DMA, cpu, at, NIC_RING_ENTRY, 0,
                    write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ);
}

/* Rings of queue (channel) i, in driver-load order: RQ, CQ, SQ, tx CQ.
 * Without --queue-per-cpu every flow has its own queue, so its own
 * rings. */
int nic_rings_create(nic_t *n, uint64_t i)
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

int nic_rings_destroy(nic_t *n, uint64_t i)
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
/* Rx page cache (--rx-cache; en_rx.c mlx5e_rx_cache_put / _get)      */
/* ------------------------------------------------------------------ */
/* At a poll: the stack now holds the pages written since the last poll
 * (GRO hands their skbs up when the poll ends); the application frees
 * them --app-lag packets of the queue later.  free_at is the first
 * queue packet count at which the page is free, so with lag 0 the page
 * is still busy at this poll's own refill and free at the next one. */
void nic_rx_cache_deliver(nic_t *n, nic_rxq_t *q)
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
int nic_rx_page_release(nic_t *n, nic_rxq_t *q, const nic_page_t *pg)
{
    if (n->p->rx_cache && q->cache_count < n->p->rx_cache - 1) {
        size_t tail = (q->cache_head + q->cache_count) & (n->p->rx_cache - 1);
        q->cache[tail] = *pg;
        q->cache_count++;
        return 0;
    }
    return nic_unmap_page(n, q->cpu, pg);
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
/* Rx descriptors                                                     */
/* ------------------------------------------------------------------ */
/* mlx5e_page_alloc_pool: a page from the rx cache, else a newly mapped
 * one. */
int nic_ring_refill(nic_t *n, nic_rxq_t *q)
{
    while (q->ndesc < n->ring_desc) {
        for (uint64_t i = 0; i < n->p->ppd; i++) {
            nic_page_t *slot = &q->ring[(q->head + q->count) % q->cap];
            if (n->p->rx_cache && rx_cache_get(n, q, slot)) {
                /* --driver-only: the page enters the ring again without
                 * a map; say which (a MARK repost) */
                if (nic_emit(n, IOSIM_REC_MARK, q->cpu, slot->iova, NIC_PAGE, 0,
                             IOSIM_MARK_REPOST))
                    return -1;
            } else {
                if (nic_map_page(n, q->cpu, true, slot))
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
int nic_channels_open(nic_t *n)
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
        if (nic_iova_alloc(n, cpu, 1, &iova)) {
            rc = -1;
        } else if (used) {
            nic_prefill_t *f = &n->prefill[cpu];
            f->pfn[f->n++] = iova / NIC_PAGE;
        } else {
            nic_page_t *pg = &n->idle[n->nidle++];
            pg->iova = iova;
            pg->phys = nic_phys_alloc(n);
            rc = nic_emit(n, IOSIM_REC_MAP, cpu, pg->iova, NIC_PAGE, pg->phys,
                          IOSIM_PROT_WRITE);
        }
    }
    free(order);
    return rc;
}

nic_page_t nic_ring_pop(nic_rxq_t *q)
{
    nic_page_t pg = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return pg;
}
