/* os_lazy.c — Linux lazy mode (DMA-FQ, iommu.strict=0).
 * Concepts: an unmap clears the PTEs at once but queues the IOVA on the
 * unmapping CPU's flush queue instead of invalidating; a full queue
 * (os.fq_size - 1 usable entries, fq_full()) or the os.fq_timeout_ms
 * timer (armed by the first enqueue, not re-armed per enqueue) triggers
 * one domain-wide flush (DSI + device-TLB all) that releases every queued
 * entry (drivers/iommu/dma-iommu.c queue_iova / fq_flush_timeout,
 * MODEL.md §1.4).  Stale IOTLB entries stay usable until the flush: the
 * protection window counted as dma.stale_hits.
 * Assumptions: one flush queue set per domain; timer expiry is checked
 * when trace time passes the deadline, the timeout rounded up to whole
 * jiffies plus os.fq_timer_slack_jiffies (lazy_create).
 * With os.iova_mode reallocate the IOVAs come from the allocator model
 * (iova.h) and a queued IOVA is freed only when the flush that releases
 * its entry runs (fq_ring_free -> free_iova_fast), on the CPU that
 * queued it.
 * Not modeled: the single-queue variant for shadowing vIOMMUs. */
#include <stdlib.h>
#include <string.h>

#include "os/iova.h"
#include "os/os.h"

/* Flush-queue sets kept apart (simulator bound, not a model number): a
 * 17th domain shares a set with DID % 16, merging their queue counts. */
#define LAZY_MAX_DOMAINS 16
#define LAZY_MAX_CPUS 256

typedef struct lazy_domain {
    uint16_t did, sid;
    bool used;
    uint32_t queued[LAZY_MAX_CPUS]; /* entries in each CPU's ring */
    uint64_t total_queued;
    iova_piece_t *pending; /* reallocate: IOVAs waiting for the flush */
    size_t npending, cap_pending;
} lazy_domain_t;

typedef struct lazy {
    iosim_sim_t *s;
    lazy_domain_t dom[LAZY_MAX_DOMAINS];
    bool timer_on;
    bool forced_strict; /* caching mode + second-stage: Linux goes strict */
    uint64_t deadline;
    uint64_t timeout_ns;
    iova_remap_t *remap; /* NULL = os.iova_mode replay */
} lazy_t;

static void *lazy_create(iosim_sim_t *s, iosim_err_t *err)
{
    lazy_t *l = calloc(1, sizeof *l);
    if (!l)
        return iosim_err_set(err, "out of memory"), NULL;
    l->s = s;
    /* mod_timer(now + msecs_to_jiffies(timeout)): whole ticks, rounded
     * up, plus the configured slack of the timer wheel. */
    uint32_t hz = s->cfg->os.hz ? s->cfg->os.hz : 250;
    double tick_ns = 1e9 / hz;
    uint64_t jiffies = (uint64_t)(s->cfg->os.fq_timeout_ms * 1e6 / tick_ns);
    if ((double)jiffies * tick_ns < s->cfg->os.fq_timeout_ms * 1e6)
        jiffies++;
    jiffies += s->cfg->os.fq_timer_slack_jiffies;
    l->timeout_ns = (uint64_t)((double)jiffies * tick_ns + 0.5);
    /* intel_iommu_init(): "IOMMU batching disallowed due to
     * virtualization" -> iommu_set_dma_strict() when CAP.CM is set and
     * domains are second-stage (MODEL.md §1.1; seen in the captures:
     * lazy == strict under caching mode). */
    l->forced_strict = s->cfg->vtd.caching_mode &&
                       !strcmp(s->cfg->vtd.translation, "second-stage");
    if (!strcmp(s->cfg->os.iova_mode, "reallocate") &&
        !(l->remap = iova_remap_new(s, err))) {
        free(l);
        return NULL;
    }
    return l;
}
static void lazy_destroy(void *state)
{
    lazy_t *l = state;
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++)
        free(l->dom[i].pending);
    iova_remap_free(l->remap);
    free(l);
}

static uint64_t lazy_dma_iova(void *state, const iosim_rec_t *r)
{
    lazy_t *l = state;
    return l->remap ? iova_remap_dma(l->remap, r) : r->iova;
}

static void lazy_flush(lazy_t *l, lazy_domain_t *d)
{
    iosim_sim_t *s = l->s;
    sim_count(s, IOSIM_ST_OS_FQ_FLUSHES, 1);
    sim_cpu(s, SIM_CPU_INVAL, s->cfg->os.fq_flush_cycles);
    os_linux_flush_all(s, d->did, d->sid);
    for (size_t i = 0; i < d->npending; i++) /* fq_ring_free */
        iova_remap_release(l->remap, &d->pending[i]);
    d->npending = 0;
    memset(d->queued, 0, sizeof d->queued);
    d->total_queued = 0;
}

static lazy_domain_t *lazy_domain(lazy_t *l, uint16_t did, uint16_t sid)
{
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++)
        if (l->dom[i].used && l->dom[i].did == did)
            return &l->dom[i];
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++)
        if (!l->dom[i].used) {
            l->dom[i].used = true;
            l->dom[i].did = did;
            l->dom[i].sid = sid;
            return &l->dom[i];
        }
    return &l->dom[did % LAZY_MAX_DOMAINS]; /* more domains than slots */
}

static void lazy_tick(void *state, uint64_t now)
{
    lazy_t *l = state;
    if (!l->timer_on || now < l->deadline)
        return;
    l->timer_on = false; /* fq_flush_timeout(): flush every domain queue */
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++)
        if (l->dom[i].used && l->dom[i].total_queued)
            lazy_flush(l, &l->dom[i]);
}

static int lazy_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    lazy_t *l = state;
    return os_linux_map(l->s, l->remap, r, err);
}

/* Reallocating unmap: clear each covered model mapping now; its IOVA
 * waits in the domain's pending list until the flush (or, when forced
 * strict, is freed right after the range invalidation). */
static int lazy_unmap_remapped(lazy_t *l, const iosim_rec_t *r,
                               iosim_err_t *err)
{
    iosim_sim_t *s = l->s;
    iova_piece_t p;
    while (iova_remap_take(l->remap, r, &p)) {
        long freed = sim_iommu_unmap(s, p.did, p.model_iova, p.size, err);
        if (freed < 0)
            return -1;
        if (l->forced_strict) {
            os_linux_flush_range(s, p.did, r->device, p.model_iova, p.size,
                                 freed == 0);
            iova_remap_release(l->remap, &p);
            continue;
        }
        lazy_domain_t *d = lazy_domain(l, p.did, r->device);
        uint32_t usable = s->cfg->os.fq_size ? s->cfg->os.fq_size - 1 : 0;
        if (d->queued[r->cpu] >= usable) {
            sim_count(s, IOSIM_ST_OS_FQ_FULL, 1);
            lazy_flush(l, d);
        }
        if (d->npending == d->cap_pending) {
            size_t cap = d->cap_pending ? 2 * d->cap_pending : 64;
            iova_piece_t *np = realloc(d->pending, cap * sizeof *np);
            if (!np)
                return iosim_err_set(err, "os_lazy.c: out of memory");
            d->pending = np;
            d->cap_pending = cap;
        }
        d->pending[d->npending++] = p;
        d->queued[r->cpu]++;
        d->total_queued++;
        if (!l->timer_on) {
            l->timer_on = true;
            l->deadline = r->t + l->timeout_ns;
        }
    }
    sim_cpu(s, SIM_CPU_IOVA, s->cfg->os.iova_free_cycles);
    return 0;
}

static int lazy_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    lazy_t *l = state;
    iosim_sim_t *s = l->s;
    sim_cpu(s, SIM_CPU_UNMAP, s->cfg->os.unmap_cycles);
    if (l->remap)
        return lazy_unmap_remapped(l, r, err);
    long freed = sim_iommu_unmap(s, r->domain, r->iova, r->size, err);
    if (freed < 0)
        return -1;
    if (l->forced_strict) {
        os_linux_flush_range(s, r->domain, r->device, r->iova, r->size,
                             freed == 0);
        sim_cpu(s, SIM_CPU_IOVA, s->cfg->os.iova_free_cycles);
        return 0;
    }
    lazy_domain_t *d = lazy_domain(l, r->domain, r->device);
    uint32_t usable = s->cfg->os.fq_size ? s->cfg->os.fq_size - 1 : 0;
    if (d->queued[r->cpu] >= usable) {
        sim_count(s, IOSIM_ST_OS_FQ_FULL, 1);
        lazy_flush(l, d);
    }
    d->queued[r->cpu]++;
    d->total_queued++;
    sim_cpu(s, SIM_CPU_IOVA, s->cfg->os.iova_free_cycles);
    if (!l->timer_on) {
        l->timer_on = true;
        l->deadline = r->t + l->timeout_ns;
    }
    return 0;
}

const os_policy_ops_t os_policy_lazy = {
    .name = "lazy",
    .summary = "Linux lazy mode: per-CPU flush queues, domain-wide flush",
    .source = "drivers/iommu/dma-iommu.c queue_iova, fq_flush_timeout "
              "(MODEL.md §1.4)",
    .translates = true,
    .create = lazy_create,
    .destroy = lazy_destroy,
    .map = lazy_map,
    .unmap = lazy_unmap,
    .tick = lazy_tick,
    .dma_iova = lazy_dma_iova,
};
