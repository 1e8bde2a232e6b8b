/* gen_nic_emit.c — `gen nic`: IOVAs and frames (Linux's allocator
 * model, sim/os/iova.c), the records and the one place they leave the
 * generator, and the per-cpu streams of --unmap-ns merged by time
 * (trace/merge.h).  gen_nic_internal.h says how the files divide the
 * generator. */
#include <stdlib.h>

#include "base/vec.h"
#include "trace/gen_nic_internal.h"

/* The driver's time: a poll's cpu time with --unmap-ns, else the slot's. */
static uint64_t nic_now(const nic_t *n)
{
    return n->cpu_on ? n->cpu_on->t : n->t;
}

/* dma_map_page of `pages` pages on cpu: iommu_dma_alloc_iova for a PCI
 * device tries below 4 GiB first; the 64-bit fallback is not modeled, so
 * exhausting the 32-bit space is an error.  The depot's trimming runs at
 * the driver's time. */
int nic_iova_alloc(nic_t *n, uint8_t cpu, uint64_t pages, uint64_t *iova)
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
void nic_iova_free(nic_t *n, uint8_t cpu, uint64_t iova, uint64_t pages)
{
    iova_tick(n->iovad, nic_now(n));
    iova_free_fast(n->iovad, cpu, iova / NIC_PAGE, pages);
}

/* A seeded permutation of 2^22 frames: n * odd + c is a bijection mod a
 * power of two. */
uint64_t nic_phys_alloc(nic_t *n)
{
    uint64_t mask = (1ULL << NIC_PHYS_FRAMES_LOG2) - 1;
    uint64_t frame = (n->phys_n++ * n->phys_mul + n->phys_add) & mask;
    return GEN_NIC_PHYS_BASE + frame * NIC_PAGE;
}

/* ------------------------------------------------------------------ */
/* Record emitters                                                    */
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
int nic_cpu_flush_due(nic_t *n, uint64_t t)
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
int nic_cpu_flush_forced(nic_t *n, nic_cpu_t *c, uint64_t until)
{
    if (nic_cpu_flush_due(n, n->t))
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
    if (c->count == c->cap &&
        vec_ring_grow(&c->recs, &c->cap, &c->head, c->count, 256))
        return iosim_err_set(n->err, "gen nic: out of memory");
    if (!c->count) /* the stream's next record: it enters the merge */
        trace_merge_set(&n->cpu_m, (size_t)(c - n->cpu_s), r->t);
    c->recs[(c->head + c->count++) % c->cap] = *r;
    return 0;
}

int nic_emit(nic_t *n, uint8_t kind, uint8_t cpu, uint64_t iova, uint64_t size,
             uint64_t aux, uint8_t flags)
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
    return nic_cpu_flush_due(n, n->t) || out_put(n, &r) ? -1 : 0;
}

int nic_map_page(nic_t *n, uint8_t cpu, bool device_writes, nic_page_t *pg)
{
    if (nic_iova_alloc(n, cpu, 1, &pg->iova))
        return -1;
    pg->phys = nic_phys_alloc(n);
    return nic_emit(n, IOSIM_REC_MAP, cpu, pg->iova, NIC_PAGE, pg->phys,
                    device_writes ? IOSIM_PROT_WRITE : IOSIM_PROT_READ);
}

int nic_unmap_page(nic_t *n, uint8_t cpu, const nic_page_t *pg)
{
    if (nic_emit(n, IOSIM_REC_UNMAP, cpu, pg->iova, NIC_PAGE, 0, 0))
        return -1;
    nic_iova_free(n, cpu, pg->iova, 1);
    return 0;
}

/* One DMA record per 4 KB page of a bytes-long buffer. */
int nic_dma_pages(nic_t *n, uint8_t cpu, const nic_page_t *pg, uint64_t npages,
                  uint64_t bytes, bool write)
{
    for (uint64_t i = 0; i < npages; i++) {
        uint64_t left = bytes - i * NIC_PAGE;
        if (nic_emit(n, IOSIM_REC_DMA, cpu, pg[i].iova,
                     left < NIC_PAGE ? left : NIC_PAGE, 0,
                     write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ))
            return -1;
    }
    return 0;
}
