/* os_lazy.c — Linux lazy mode (DMA-FQ, iommu.strict=0).
 * Concepts: an unmap clears the PTEs at once but queues the IOVA on the
 * unmapping CPU's flush queue instead of invalidating; a full queue
 * (os.fq_size - 1 usable entries, fq_full()) or the os.fq_timeout_ms
 * timer (armed by the first enqueue, not re-armed per enqueue) triggers
 * one domain-wide flush (DSI + device-TLB all) after which every entry
 * queued before it may be freed (drivers/iommu/dma-iommu.c queue_iova /
 * fq_flush_timeout, MODEL.md §1.4).  Stale IOTLB entries stay usable
 * until the flush: the protection window counted as dma.stale_hits.
 * Assumptions: one flush queue set and one timer per domain (Linux's
 * iommu_dma_cookie); timer expiry is checked
 * when trace time passes the deadline, the timeout rounded up to whole
 * jiffies plus os.fq_timer_slack_jiffies (lazy_create); the timer runs
 * on the CPU that armed it: in the shipped lazy captures (2 CPUs) the
 * flush's CPU is the one of the first unmap after the previous flush in
 * 71 to 85% of the flushes; timer migration (an idle CPU's timer goes to
 * a busy one) moves the rest and is not modeled.  With this the model's
 * share of IOVAs reused on another CPU is 29 to 42% against the
 * captures' 31 to 37% (tests/cli/iova_reuse.sh).
 * With os.iova_mode reallocate the IOVAs come from the allocator model
 * (iova.h) and a queued IOVA goes back to an rcache only once a flush
 * that started after it was queued has finished, and only when its ring
 * is next emptied of such entries (fq_ring_free -> free_iova_fast):
 * by the CPU that queued it, at its next unmap (queue_iova frees its own
 * ring first, and again after a flush for a full ring), or by the timer
 * for every CPU at once, into the rcache of the CPU the timer runs on
 * (the one whose enqueue armed it: mod_timer queues on the local CPU).
 * So after a flush another CPU's IOVAs stay unusable until that CPU
 * unmaps again, and a timer flush moves every CPU's IOVAs into one
 * rcache (drivers/iommu/dma-iommu.c queue_iova, fq_flush_timeout,
 * MODEL.md §1.4).
 * Not modeled: the single-queue variant for shadowing vIOMMUs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os/iova.h"
#include "os/os.h"

/* Flush-queue sets kept apart (simulator bound, not a model number): a
 * 17th domain shares a set with DID % 16, merging their queue counts. */
#define LAZY_MAX_DOMAINS 16
#define LAZY_MAX_CPUS 256

/* reallocate: one CPU's flush-queue ring of os.fq_size slots, as
 * Linux's struct iova_fq: entries from head to tail, oldest at head.  It
 * never overflows: queue_iova frees the flushed entries first and
 * flushes when os.fq_size - 1 unflushed ones are queued. */
typedef struct lazy_entry {
    iova_piece_t piece;
    uint64_t counter; /* the domain's flush count when queued */
} lazy_entry_t;
typedef struct lazy_ring {
    lazy_entry_t *e; /* os.fq_size slots, allocated at first use */
    uint32_t head, tail;
} lazy_ring_t;

typedef struct lazy_domain {
    uint16_t did, sid;
    bool used;
    uint32_t queued[LAZY_MAX_CPUS]; /* unflushed entries per CPU ring  */
    uint64_t total_queued;
    uint64_t flushes;  /* fq_flush_start_cnt = finish_cnt (synchronous) */
    lazy_ring_t *ring; /* reallocate: LAZY_MAX_CPUS rings, on demand   */
    bool timer_on;     /* cookie->fq_timer: one per domain             */
    uint8_t timer_cpu; /* the CPU whose enqueue armed it               */
    uint64_t deadline;
} lazy_domain_t;

typedef struct lazy {
    iosim_sim_t *s;
    lazy_domain_t dom[LAZY_MAX_DOMAINS];
    unsigned timers_on;     /* domains whose timer is armed            */
    uint64_t next_deadline; /* the earliest of their deadlines         */
    bool forced_strict;     /* caching mode + second-stage: Linux goes strict */
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
    uint32_t hz = sim_config(s)->os.hz ? sim_config(s)->os.hz : 250;
    double tick_ns = 1e9 / hz;
    uint64_t jiffies =
        (uint64_t)(sim_config(s)->os.fq_timeout_ms * 1e6 / tick_ns);
    if ((double)jiffies * tick_ns < sim_config(s)->os.fq_timeout_ms * 1e6)
        jiffies++;
    jiffies += sim_config(s)->os.fq_timer_slack_jiffies;
    l->timeout_ns = (uint64_t)((double)jiffies * tick_ns + 0.5);
    /* intel_iommu_init(): "IOMMU batching disallowed due to
     * virtualization" -> iommu_set_dma_strict() when CAP.CM is set and
     * domains are second-stage (MODEL.md §1.1; seen in the captures:
     * lazy == strict under caching mode). */
    l->forced_strict = sim_config(s)->vtd.caching_mode &&
                       !strcmp(sim_config(s)->vtd.translation, "second-stage");
    if (l->forced_strict)
        sim_note_substitution(s, "forced strict: caching mode");
    if (!strcmp(sim_config(s)->os.iova_mode, "reallocate") &&
        !(l->remap = iova_remap_new(s, err))) {
        free(l);
        return NULL;
    }
    return l;
}
static void lazy_destroy(void *state)
{
    lazy_t *l = state;
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++) {
        if (l->dom[i].ring)
            for (int c = 0; c < LAZY_MAX_CPUS; c++)
                free(l->dom[i].ring[c].e);
        free(l->dom[i].ring);
    }
    iova_remap_free(l->remap);
    free(l);
}

static uint64_t lazy_dma_iova(void *state, const iosim_rec_t *r)
{
    lazy_t *l = state;
    return l->remap ? iova_remap_dma(l->remap, r) : r->iova;
}

static bool lazy_dma_iova_is_trace(void *state)
{
    return !((lazy_t *)state)->remap;
}

/* fq_flush_iotlb(): one domain-wide flush; every entry queued so far
 * becomes releasable (its counter is below the new flush count). */
static void lazy_flush(lazy_t *l, lazy_domain_t *d)
{
    iosim_sim_t *s = l->s;
    sim_count(s, IOSIM_ST_OS_FQ_FLUSHES, 1);
    sim_cpu(s, SIM_CPU_INVAL, sim_config(s)->os.fq_flush_cycles);
    os_linux_flush_all(s, d->did, d->sid);
    d->flushes++;
    memset(d->queued, 0, sizeof d->queued);
    d->total_queued = 0;
}

/* fq_ring_free(): frees the flushed entries at the head of cpu's ring
 * into the rcache of free_cpu (the CPU running it). */
static void lazy_ring_free(lazy_t *l, lazy_domain_t *d, unsigned cpu,
                           unsigned free_cpu)
{
    if (!d->ring)
        return;
    lazy_ring_t *q = &d->ring[cpu];
    uint32_t mask = sim_config(l->s)->os.fq_size - 1;
    while (q->head != q->tail && q->e[q->head].counter < d->flushes) {
        iova_piece_t p = q->e[q->head].piece;
        q->head = (q->head + 1) & mask;
        p.cpu = (uint8_t)free_cpu;
        iova_remap_release(l->remap, &p);
    }
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

/* fq_flush_timeout() of every domain whose timer is due: flush, then
 * free every CPU's ring on the timer's CPU. */
static void lazy_tick(void *state, uint64_t now)
{
    lazy_t *l = state;
    if (!l->timers_on || now < l->next_deadline)
        return;
    l->next_deadline = UINT64_MAX;
    for (int i = 0; i < LAZY_MAX_DOMAINS; i++) {
        lazy_domain_t *d = &l->dom[i];
        if (!d->timer_on)
            continue;
        if (now < d->deadline) {
            if (d->deadline < l->next_deadline)
                l->next_deadline = d->deadline;
            continue;
        }
        d->timer_on = false;
        l->timers_on--;
        lazy_flush(l, d);
        for (unsigned c = 0; d->ring && c < LAZY_MAX_CPUS; c++)
            lazy_ring_free(l, d, c, d->timer_cpu);
    }
}

/* queue_iova() for one entry on r's CPU: a flush first when that CPU's
 * ring is full (os.fq_size - 1 entries, fq_full()), then the entry is
 * counted; the first enqueue after the timer fired arms it again. */
static void lazy_enqueue(lazy_t *l, lazy_domain_t *d, const iosim_rec_t *r)
{
    iosim_sim_t *s = l->s;
    uint32_t usable =
        sim_config(s)->os.fq_size ? sim_config(s)->os.fq_size - 1 : 0;
    if (d->queued[r->cpu] >= usable) {
        sim_count(s, IOSIM_ST_OS_FQ_FULL, 1);
        lazy_flush(l, d);
    }
    d->queued[r->cpu]++;
    d->total_queued++;
    if (!d->timer_on) {
        d->timer_on = true;
        d->timer_cpu = r->cpu;
        d->deadline = r->t + l->timeout_ns;
        if (!l->timers_on++ || d->deadline < l->next_deadline)
            l->next_deadline = d->deadline;
    }
}

static int lazy_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    lazy_t *l = state;
    return os_linux_map(l->s, l->remap, r, err);
}

/* Reallocating unmap: clear each covered model mapping now; its IOVA
 * waits on this CPU's flush-queue ring until a flush has passed and the
 * ring is next freed (or, when forced strict, is freed right after the
 * range invalidation). */
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
        if (!d->ring && !(d->ring = calloc(LAZY_MAX_CPUS, sizeof *d->ring)))
            return iosim_err_set(err, "os_lazy.c: out of memory");
        lazy_ring_t *q = &d->ring[r->cpu];
        uint32_t size = sim_config(s)->os.fq_size;
        if (!q->e && !(q->e = malloc(size * sizeof *q->e)))
            return iosim_err_set(err, "os_lazy.c: out of memory");
        lazy_ring_free(l, d, r->cpu, r->cpu);
        lazy_enqueue(l, d, r);
        lazy_ring_free(l, d, r->cpu, r->cpu); /* after a full-ring flush */
        q->e[q->tail] = (lazy_entry_t){.piece = p, .counter = d->flushes};
        q->tail = (q->tail + 1) & (size - 1);
    }
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    return 0;
}

static int lazy_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    lazy_t *l = state;
    iosim_sim_t *s = l->s;
    sim_cpu(s, SIM_CPU_UNMAP, sim_config(s)->os.unmap_cycles);
    if (l->remap)
        return lazy_unmap_remapped(l, r, err);
    long freed = sim_iommu_unmap(s, r->domain, r->iova, r->size, err);
    if (freed < 0)
        return -1;
    if (l->forced_strict) {
        os_linux_flush_range(s, r->domain, r->device, r->iova, r->size,
                             freed == 0);
        sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
        return 0;
    }
    lazy_enqueue(l, lazy_domain(l, r->domain, r->device), r);
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    return 0;
}

const os_policy_ops_t os_policy_lazy = {
    .name = "lazy",
    /* how a Linux capture shows it (dmesg boot line, command line) */
    .capture = {"invalidation policy: lazy mode", "iommu.strict=0", false},
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
    .dma_iova_is_trace = lazy_dma_iova_is_trace,
};
