/* iova.c — the Linux IOVA allocator model (drivers/iommu/iova.c +
 * dma-iommu.c iommu_dma_alloc_iova, Linux 6.x; MODEL.md §1.5) and the
 * trace -> model IOVA map.  See iova.h for concepts and assumptions.
 * Not modeled: see iova.h. */
#include "os/iova.h"

#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/range_treap.h"
#include "base/vec.h"
#include "os/os.h"

static void release_plain(range_node_t *n) { free(n); }

/* ---- allocator --------------------------------------------------------- */

typedef struct magazine {
    unsigned size;
    uint64_t pfns[IOVA_MAG_SIZE];
} magazine_t;

typedef struct cpu_rcache {
    magazine_t *loaded, *prev;
} cpu_rcache_t;

typedef struct rcache {
    magazine_t **depot; /* LIFO stack of full magazines */
    size_t depot_size, depot_cap;
    cpu_rcache_t *cpu[IOVA_MAX_CPUS];
    bool work_pending; /* iova_depot_work_func scheduled */
    uint64_t work_at;
} rcache_t;

struct iova_domain {
    range_treap_t tree;
    range_node_t anchor;         /* pfn IOVA_ANCHOR = ~0, always present */
    range_node_t *cached_node;   /* search start above 4 GiB            */
    range_node_t *cached32_node; /* search start below 4 GiB            */
    uint64_t max32_alloc_size;
    bool pci32_workaround; /* dev->iommu->pci_32bit_workaround    */
    rcache_t rc[IOVA_RANGE_CACHE_MAX_SIZE];
    unsigned online_cpus; /* 0 = CPUs seen                       */
    unsigned cpus_seen;
    uint64_t now;
};

iova_domain_t *iova_domain_new(void)
{
    iova_domain_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    range_treap_init(&d->tree, 0x9e3779b9u);
    d->anchor.lo = d->anchor.hi = UINT64_MAX; /* init_iova_domain anchor */
    range_treap_insert(&d->tree, &d->anchor);
    d->cached_node = d->cached32_node = &d->anchor;
    d->max32_alloc_size = IOVA_DMA32_PFN;
    d->pci32_workaround = true;
    return d;
}

void iova_domain_free(iova_domain_t *d)
{
    if (!d)
        return;
    for (unsigned c = 0; c < IOVA_RANGE_CACHE_MAX_SIZE; c++) {
        rcache_t *rc = &d->rc[c];
        for (size_t i = 0; i < rc->depot_size; i++)
            free(rc->depot[i]);
        free(rc->depot);
        for (unsigned i = 0; i < IOVA_MAX_CPUS; i++)
            if (rc->cpu[i]) {
                free(rc->cpu[i]->loaded);
                free(rc->cpu[i]->prev);
                free(rc->cpu[i]);
            }
    }
    /* the anchor is embedded in d: unlink it, then free every range */
    range_treap_remove(&d->tree, &d->anchor);
    range_treap_clear(&d->tree, release_plain);
    free(d);
}

void iova_set_online_cpus(iova_domain_t *d, unsigned n) { d->online_cpus = n; }

iova_domain_t *iova_dma_domain_new(unsigned cpus)
{
    iova_domain_t *d = iova_domain_new();
    if (!d || iova_reserve(d, IOVA_MSI_LO_PFN, IOVA_MSI_HI_PFN)) {
        iova_domain_free(d);
        return NULL;
    }
    iova_set_online_cpus(d, cpus);
    return d;
}

static range_node_t *tree_prev(iova_domain_t *d, const range_node_t *n)
{
    return range_treap_below(&d->tree, n->lo, false);
}

static range_node_t *tree_next(iova_domain_t *d, const range_node_t *n)
{
    return range_treap_above(&d->tree, n->lo, false);
}

/* iova_find_limit(): where the second pass starts — the lowest range
 * reaching limit_pfn (the anchor above 4 GiB, as Linux's shortcut). */
static range_node_t *find_limit(iova_domain_t *d, uint64_t limit_pfn)
{
    if (limit_pfn > IOVA_DMA32_PFN)
        return &d->anchor;
    range_node_t *n = range_treap_below(&d->tree, limit_pfn, true);
    if (n && n->hi >= limit_pfn)
        return n;
    return range_treap_above(&d->tree, limit_pfn, false);
}

/* __alloc_and_insert_iova_range(size, limit_pfn) with size_aligned; here
 * limit_pfn is one past the highest usable pfn, as in Linux. */
static uint64_t tree_alloc(iova_domain_t *d, uint64_t size, uint64_t limit_pfn)
{
    uint64_t align_mask = size > 1 ? ~0ull << fls64(size - 1) : ~0ull;
    uint64_t high = limit_pfn, low = IOVA_START_PFN, new_pfn;
    if (limit_pfn <= IOVA_DMA32_PFN && size >= d->max32_alloc_size)
        return 0; /* iova32_full: fail fast */
    range_node_t *curr =
        limit_pfn <= IOVA_DMA32_PFN ? d->cached32_node : d->cached_node;
    uint64_t retry_pfn = curr->hi;
    for (;;) {
        do { /* walk the ranges downwards looking for a gap */
            if (curr->lo < high)
                high = curr->lo;
            new_pfn = (high - size) & align_mask;
            curr = tree_prev(d, curr);
        } while (curr && new_pfn <= curr->hi && new_pfn >= low);
        if (high < size || new_pfn < low) {
            if (low == IOVA_START_PFN && retry_pfn < limit_pfn) {
                /* second pass over what lies above the cached node */
                high = limit_pfn;
                low = retry_pfn + 1;
                curr = find_limit(d, limit_pfn);
                continue;
            }
            d->max32_alloc_size = size;
            return 0;
        }
        break;
    }
    range_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return 0;
    n->lo = new_pfn;
    n->hi = new_pfn + size - 1;
    range_treap_insert(&d->tree, n);
    /* __cached_rbnode_insert_update() */
    if (n->hi < IOVA_DMA32_PFN)
        d->cached32_node = n;
    else
        d->cached_node = n;
    return new_pfn;
}

/* remove_iova() with __cached_rbnode_delete_update(). */
static void tree_remove(iova_domain_t *d, range_node_t *f)
{
    range_node_t *c32 = d->cached32_node;
    if (f == c32 || (f->hi < IOVA_DMA32_PFN && f->lo >= c32->lo))
        d->cached32_node = tree_next(d, f);
    if (f->lo < IOVA_DMA32_PFN)
        d->max32_alloc_size = IOVA_DMA32_PFN;
    if (f->lo >= d->cached_node->lo)
        d->cached_node = tree_next(d, f);
    range_treap_remove(&d->tree, f);
    free(f);
}

/* free_iova(): the range containing pfn goes back to the tree. */
static void tree_free(iova_domain_t *d, uint64_t pfn)
{
    range_node_t *f = range_treap_containing(&d->tree, pfn);
    if (f && f != &d->anchor)
        tree_remove(d, f);
}

static magazine_t *mag_new(void) { return calloc(1, sizeof(magazine_t)); }

static void mag_free_pfns(iova_domain_t *d, magazine_t *m)
{
    for (unsigned i = 0; i < m->size; i++)
        tree_free(d, m->pfns[i]);
    m->size = 0;
}

/* iova_magazine_pop(): the most recent pfn <= limit_pfn, swap-removed. */
static uint64_t mag_pop(magazine_t *m, uint64_t limit_pfn)
{
    unsigned i = m->size - 1;
    while (m->pfns[i] > limit_pfn) {
        if (i == 0)
            return 0;
        i--;
    }
    uint64_t pfn = m->pfns[i];
    m->pfns[i] = m->pfns[--m->size];
    return pfn;
}

static cpu_rcache_t *cpu_rc(iova_domain_t *d, rcache_t *rc, unsigned cpu)
{
    cpu %= IOVA_MAX_CPUS;
    if (cpu + 1 > d->cpus_seen)
        d->cpus_seen = cpu + 1;
    if (!rc->cpu[cpu]) {
        cpu_rcache_t *c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->loaded = mag_new();
        c->prev = mag_new();
        if (!c->loaded || !c->prev) {
            free(c->loaded);
            free(c->prev);
            free(c);
            return NULL;
        }
        rc->cpu[cpu] = c;
    }
    return rc->cpu[cpu];
}

static void swap_mags(cpu_rcache_t *c)
{
    magazine_t *t = c->loaded;
    c->loaded = c->prev;
    c->prev = t;
}

/* __iova_rcache_get() */
static uint64_t rcache_get(iova_domain_t *d, unsigned cpu, uint64_t size,
                           uint64_t limit_pfn)
{
    unsigned cls = order_base_2(size);
    if (cls >= IOVA_RANGE_CACHE_MAX_SIZE)
        return 0;
    rcache_t *rc = &d->rc[cls];
    cpu_rcache_t *c = cpu_rc(d, rc, cpu);
    if (!c)
        return 0;
    if (c->loaded->size) {
        /* use loaded */
    } else if (c->prev->size) {
        swap_mags(c);
    } else if (rc->depot_size) {
        free(c->loaded);
        c->loaded = rc->depot[--rc->depot_size];
    } else {
        return 0;
    }
    return mag_pop(c->loaded, limit_pfn - size);
}

/* __iova_rcache_insert(); false = not cacheable or no memory. */
static bool rcache_insert(iova_domain_t *d, unsigned cpu, uint64_t pfn,
                          uint64_t size)
{
    unsigned cls = order_base_2(size);
    if (cls >= IOVA_RANGE_CACHE_MAX_SIZE)
        return false;
    rcache_t *rc = &d->rc[cls];
    cpu_rcache_t *c = cpu_rc(d, rc, cpu);
    if (!c)
        return false;
    if (c->loaded->size < IOVA_MAG_SIZE) {
        /* room in loaded */
    } else if (c->prev->size < IOVA_MAG_SIZE) {
        swap_mags(c);
    } else {
        magazine_t *fresh = mag_new();
        if (!fresh)
            return false;
        if (vec_reserve(&rc->depot, &rc->depot_cap, rc->depot_size + 1, 8)) {
            free(fresh);
            return false;
        }
        rc->depot[rc->depot_size++] = c->loaded;
        if (!rc->work_pending) { /* schedule_delayed_work(IOVA_DEPOT_DELAY) */
            rc->work_pending = true;
            rc->work_at = d->now + IOVA_DEPOT_DELAY_NS;
        }
        c->loaded = fresh;
    }
    c->loaded->pfns[c->loaded->size++] = pfn;
    return true;
}

/* free_cpu_cached_iovas() for every CPU + free_global_cached_iovas(). */
static void flush_rcaches(iova_domain_t *d)
{
    for (unsigned cls = 0; cls < IOVA_RANGE_CACHE_MAX_SIZE; cls++) {
        rcache_t *rc = &d->rc[cls];
        for (unsigned i = 0; i < IOVA_MAX_CPUS; i++)
            if (rc->cpu[i]) {
                mag_free_pfns(d, rc->cpu[i]->loaded);
                mag_free_pfns(d, rc->cpu[i]->prev);
            }
        while (rc->depot_size) {
            magazine_t *m = rc->depot[--rc->depot_size];
            mag_free_pfns(d, m);
            free(m);
        }
    }
}

void iova_tick(iova_domain_t *d, uint64_t now)
{
    if (now > d->now)
        d->now = now;
    unsigned online = d->online_cpus ? d->online_cpus : d->cpus_seen;
    for (unsigned cls = 0; cls < IOVA_RANGE_CACHE_MAX_SIZE; cls++) {
        rcache_t *rc = &d->rc[cls];
        /* iova_depot_work_func(): one magazine per run while the depot
         * holds more than one per online CPU; re-arms itself after a pop */
        while (rc->work_pending && rc->work_at <= d->now) {
            rc->work_pending = false;
            if (rc->depot_size > online) {
                magazine_t *m = rc->depot[--rc->depot_size];
                mag_free_pfns(d, m);
                free(m);
                rc->work_pending = true;
                rc->work_at += IOVA_DEPOT_DELAY_NS;
            }
        }
    }
}

uint64_t iova_alloc_fast(iova_domain_t *d, unsigned cpu, uint64_t pages,
                         uint64_t limit_pfn, bool flush_rcache,
                         bool *rcache_hit)
{
    if (rcache_hit)
        *rcache_hit = false;
    if (pages == 0)
        pages = 1;
    /* cacheable sizes are rounded so that a freed range fits any later
     * request of its class (alloc_iova_fast) */
    if (pages < (1u << (IOVA_RANGE_CACHE_MAX_SIZE - 1)))
        pages = 1ull << order_base_2(pages);
    uint64_t pfn = rcache_get(d, cpu, pages, limit_pfn + 1);
    if (pfn) {
        if (rcache_hit)
            *rcache_hit = true;
        return pfn;
    }
    for (;;) {
        pfn = tree_alloc(d, pages, limit_pfn + 1);
        if (pfn || !flush_rcache)
            return pfn;
        flush_rcache = false; /* replenish from every cache, retry once */
        flush_rcaches(d);
    }
}

uint64_t iova_dma_alloc(iova_domain_t *d, unsigned cpu, uint64_t pages,
                        uint64_t dma_limit_pfn, bool pci32, bool *rcache_hit)
{
    const uint64_t limit32 = IOVA_DMA32_PFN - 1; /* DMA_BIT_MASK(32) >> 12 */
    if (dma_limit_pfn > limit32 && pci32 && d->pci32_workaround) {
        uint64_t pfn =
            iova_alloc_fast(d, cpu, pages, limit32, false, rcache_hit);
        if (pfn)
            return pfn;
        d->pci32_workaround = false; /* "Using %d-bit DMA addresses" */
    }
    return iova_alloc_fast(d, cpu, pages, dma_limit_pfn, true, rcache_hit);
}

void iova_free_fast(iova_domain_t *d, unsigned cpu, uint64_t pfn,
                    uint64_t pages)
{
    if (!rcache_insert(d, cpu, pfn, pages ? pages : 1))
        tree_free(d, pfn);
}

int iova_reserve(iova_domain_t *d, uint64_t pfn_lo, uint64_t pfn_hi)
{
    range_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->lo = pfn_lo;
    n->hi = pfn_hi;
    range_treap_insert(&d->tree, n);
    return 0;
}

/* the anchor is not an allocation */
uint64_t iova_live_ranges(const iova_domain_t *d) { return d->tree.count - 1; }

unsigned iova_depot_size(const iova_domain_t *d, unsigned size_class)
{
    return size_class < IOVA_RANGE_CACHE_MAX_SIZE
               ? (unsigned)d->rc[size_class].depot_size
               : 0;
}

unsigned iova_cpu_loaded(const iova_domain_t *d, unsigned cpu,
                         unsigned size_class)
{
    if (size_class >= IOVA_RANGE_CACHE_MAX_SIZE || cpu >= IOVA_MAX_CPUS ||
        !d->rc[size_class].cpu[cpu])
        return 0;
    return d->rc[size_class].cpu[cpu]->loaded->size;
}

unsigned iova_cpu_prev(const iova_domain_t *d, unsigned cpu,
                       unsigned size_class)
{
    if (size_class >= IOVA_RANGE_CACHE_MAX_SIZE || cpu >= IOVA_MAX_CPUS ||
        !d->rc[size_class].cpu[cpu])
        return 0;
    return d->rc[size_class].cpu[cpu]->prev->size;
}

bool iova_is_allocated(const iova_domain_t *d, uint64_t pfn)
{
    const range_node_t *n = range_treap_containing(&d->tree, pfn);
    return n && n != &d->anchor;
}

/* ---- trace -> model map ------------------------------------------------- */

/* key: DID in bits 63..48, trace pfn below (pfns of 57-bit addresses fit) */
#define XKEY(did, addr)                                                        \
    (((uint64_t)(did) << 48) | (((addr) >> IOVA_SHIFT) & ((1ull << 48) - 1)))

typedef struct xnode {
    range_node_t t; /* first: a range_node_t * is an xnode_t * */
    iova_xent_t e;
} xnode_t;

struct iova_xmap {
    range_treap_t tree;
};

iova_xmap_t *iova_xmap_new(void)
{
    iova_xmap_t *m = calloc(1, sizeof *m);
    if (m)
        range_treap_init(&m->tree, 0x2545f491u);
    return m;
}

void iova_xmap_free(iova_xmap_t *m)
{
    if (!m)
        return;
    range_treap_clear(&m->tree, release_plain);
    free(m);
}

static xnode_t *xnode_of(iova_xent_t *e)
{
    return (xnode_t *)(void *)((char *)e - offsetof(xnode_t, e));
}

iova_xent_t *iova_xmap_insert(iova_xmap_t *m, uint16_t did, uint64_t trace_iova,
                              uint64_t size)
{
    xnode_t *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    uint64_t pages = (size + 4095) >> IOVA_SHIFT;
    x->t.lo = XKEY(did, trace_iova);
    x->t.hi = x->t.lo + (pages ? pages - 1 : 0);
    x->e.did = did;
    x->e.trace_iova = trace_iova;
    x->e.size = size;
    range_treap_insert(&m->tree, &x->t);
    return &x->e;
}

iova_xent_t *iova_xmap_find(const iova_xmap_t *m, uint16_t did, uint64_t addr)
{
    range_node_t *n = range_treap_containing(&m->tree, XKEY(did, addr));
    return n ? &((xnode_t *)(void *)n)->e : NULL;
}

iova_xent_t *iova_xmap_overlap(const iova_xmap_t *m, uint16_t did, uint64_t lo,
                               uint64_t hi)
{
    if (hi <= lo)
        hi = lo + 1;
    uint64_t klo = XKEY(did, lo), khi = XKEY(did, hi - 1);
    range_node_t *n = range_treap_containing(&m->tree, klo);
    if (!n) {
        n = range_treap_above(&m->tree, klo, true);
        if (n && n->lo > khi)
            n = NULL;
    }
    return n ? &((xnode_t *)(void *)n)->e : NULL;
}

void iova_xmap_remove(iova_xmap_t *m, iova_xent_t *e)
{
    xnode_t *x = xnode_of(e);
    range_treap_remove(&m->tree, &x->t);
    free(x);
}

uint64_t iova_xmap_count(const iova_xmap_t *m) { return m->tree.count; }

/* ---- allocate at map, release after invalidation ------------------------ */

typedef struct remap_dom {
    uint16_t did;
    iova_domain_t *d;
} remap_dom_t;

struct iova_remap {
    iosim_sim_t *s;
    iova_xmap_t *x;
    remap_dom_t *dom;
    size_t ndom, cap;
    uint64_t limit_pfn;
};

iova_remap_t *iova_remap_new(iosim_sim_t *s, iosim_err_t *err)
{
    iova_remap_t *m = calloc(1, sizeof *m);
    if (!m || !(m->x = iova_xmap_new())) {
        free(m);
        return iosim_err_set(err, "iova.c: out of memory"), NULL;
    }
    m->s = s;
    /* aperture_end = __DOMAIN_MAX_ADDR(gaw): 12 + 9 bits per level of the
     * table the DMA API maps into; a first-stage table (nested guests'
     * too) takes __DOMAIN_MAX_ADDR(gaw - 1), since first-stage input
     * addresses must be canonical (bit N-1 sign-extends: 47 usable bits
     * with 4 levels, 56 with 5) -- drivers/iommu/intel/iommu.c
     * paging_domain_alloc / domain_update_iommu_cap, MODEL.md §3.2. */
    bool first = os_linux_first_stage(s);
    uint32_t levels =
        first ? sim_config(s)->vtd.fs_levels : sim_config(s)->vtd.ss_levels;
    unsigned bits = 12u + 9u * (levels ? levels : 4u) - (first ? 1u : 0u);
    m->limit_pfn = ((1ull << bits) - 1) >> IOVA_SHIFT;
    return m;
}

void iova_remap_free(iova_remap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ndom; i++)
        iova_domain_free(m->dom[i].d);
    free(m->dom);
    iova_xmap_free(m->x);
    free(m);
}

uint64_t iova_remap_limit_pfn(const iova_remap_t *m) { return m->limit_pfn; }
iova_xmap_t *iova_remap_xmap(iova_remap_t *m) { return m->x; }

iova_domain_t *iova_remap_domain(iova_remap_t *m, uint16_t did)
{
    for (size_t i = 0; i < m->ndom; i++)
        if (m->dom[i].did == did)
            return m->dom[i].d;
    if (vec_reserve(&m->dom, &m->cap, m->ndom + 1, 4))
        return NULL;
    iova_domain_t *d = iova_dma_domain_new(sim_meta(m->s)->cpus);
    if (!d)
        return NULL;
    iova_tick(d, sim_now(m->s));
    m->dom[m->ndom].did = did;
    m->dom[m->ndom++].d = d;
    return d;
}

int iova_remap_map(iova_remap_t *m, const iosim_rec_t *r, uint64_t *iova,
                   iosim_err_t *err)
{
    iosim_sim_t *s = m->s;
    uint64_t off = r->iova & 0xfffull;
    uint64_t pages = (off + r->size + 4095) >> IOVA_SHIFT; /* iova_align */
    if (pages == 0)
        pages = 1;
    uint64_t trace_lo = r->iova - off;
    if (iova_xmap_overlap(m->x, r->domain, trace_lo,
                          trace_lo + (pages << IOVA_SHIFT)))
        return iosim_err_set(err,
                             "iova.c: map of trace iova 0x%llx in domain %u "
                             "overlaps a live mapping",
                             (unsigned long long)r->iova, r->domain);
    iova_domain_t *d = iova_remap_domain(m, r->domain);
    if (!d)
        return iosim_err_set(err, "iova.c: out of memory");
    iova_tick(d, sim_now(s));
    bool hit = false;
    uint64_t pfn = iova_dma_alloc(d, r->cpu, pages, m->limit_pfn, true, &hit);
    if (!pfn)
        return iosim_err_set(err,
                             "iova.c: IOVA space of domain %u "
                             "exhausted (%llu pages asked)",
                             r->domain, (unsigned long long)pages);
    sim_count(s, IOSIM_ST_OS_IOVA_ALLOCS, 1);
    if (hit)
        sim_count(s, IOSIM_ST_OS_IOVA_RCACHE_HITS, 1);
    iova_xent_t *e =
        iova_xmap_insert(m->x, r->domain, trace_lo, pages << IOVA_SHIFT);
    if (!e) {
        iova_free_fast(d, r->cpu, pfn, pages);
        return iosim_err_set(err, "iova.c: out of memory");
    }
    e->cpu = r->cpu;
    e->model_iova = pfn << IOVA_SHIFT;
    e->phys = r->aux - off;
    e->alloc_pfn = pfn;
    e->alloc_pages = pages;
    *iova = e->model_iova + off;
    return 0;
}

bool iova_remap_take(iova_remap_t *m, const iosim_rec_t *r, iova_piece_t *out)
{
    uint64_t lo = r->iova & ~0xfffull;
    uint64_t hi = r->iova + (r->size ? r->size : 1);
    iova_xent_t *e = iova_xmap_overlap(m->x, r->domain, lo, hi);
    if (!e)
        return false;
    out->did = e->did;
    out->cpu = r->cpu;
    out->model_iova = e->model_iova;
    out->size = e->size;
    out->alloc_pfn = e->alloc_pfn;
    out->alloc_pages = e->alloc_pages;
    iova_xmap_remove(m->x, e);
    return true;
}

void iova_remap_release(iova_remap_t *m, const iova_piece_t *p)
{
    if (!p->alloc_pfn)
        return;
    iova_domain_t *d = iova_remap_domain(m, p->did);
    if (!d)
        return;
    iova_tick(d, sim_now(m->s));
    iova_free_fast(d, p->cpu, p->alloc_pfn, p->alloc_pages);
}

uint16_t iova_rec_domain(const iosim_sim_t *s, const iosim_rec_t *r)
{
    return r->domain ? r->domain : vtd_domain_of(sim_vtd(s), r->device);
}

uint64_t iova_remap_dma(iova_remap_t *m, const iosim_rec_t *r)
{
    iova_xent_t *e = iova_xmap_find(m->x, iova_rec_domain(m->s, r), r->iova);
    if (!e)
        return r->iova & 0xfffull; /* page 0: never allocated */
    return e->model_iova + (r->iova - e->trace_iova);
}
