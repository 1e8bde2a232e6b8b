/* scheme_static.c — static mappings: map everything once, never unmap
 * (the DPDK / virtio-PMD way: Coquelin, "Improve VNF safety with
 * Vhost-User/DPDK IOMMU support", DPDK Userspace 2017, slide "Static vs.
 * dynamic mappings"; the "preallocate the IO address space" / "never
 * free" remedies of Ben-Yehuda et al., The Price of Safety, OLS'07).
 *
 * Concepts:
 *   - The first map of a physical page maps it permanently at an
 *     identity-like IOVA (IOVA = physical address), read/write; later maps
 *     of that page change nothing (os.map_reuses).  Unmaps do nothing, so
 *     there are no invalidations at all and the IOTLB only ever misses
 *     cold or on capacity.
 *   - The trace's IOVA of a live mapping translates to the physical page
 *     (dma_iova); an access outside any live trace mapping goes to IOVA
 *     page 0 and faults, unless page 0 itself was mapped.
 *   - Protection implication: none within the set of pages ever mapped —
 *     the device can reach every page that was ever a DMA buffer, at any
 *     time (the scheme trades protection for zero invalidation cost).
 * Assumptions: physical addresses fit the domain's address width.
 * Not modeled: the up-front mapping cost at device probe (the first map
 * of each page pays it instead); hugepage-sized static mappings. */
#include <stdlib.h>

#include "os/iova.h"
#include "os/os.h"

typedef struct static_scheme {
    iosim_sim_t *s;
    iova_xmap_t *trace; /* trace IOVA -> phys of live trace mappings  */
    iova_xmap_t *pages; /* physical pages mapped (keyed by phys)      */
} static_scheme_t;

static void *st_create(iosim_sim_t *s, iosim_err_t *err)
{
    static_scheme_t *t = calloc(1, sizeof *t);
    if (!t || !(t->trace = iova_xmap_new()) || !(t->pages = iova_xmap_new())) {
        if (t)
            iova_xmap_free(t->trace);
        free(t);
        return iosim_err_set(err, "scheme_static.c: out of memory"), NULL;
    }
    t->s = s;
    return t;
}

static void st_destroy(void *state)
{
    static_scheme_t *t = state;
    iova_xmap_free(t->trace);
    iova_xmap_free(t->pages);
    free(t);
}

/* Maps the run [lo, hi) of not yet mapped pages. */
static int map_run(static_scheme_t *t, uint16_t did, uint64_t lo, uint64_t hi,
                   iosim_err_t *err)
{
    iosim_sim_t *s = t->s;
    if (hi <= lo)
        return 0;
    sim_cpu(s, SIM_CPU_MAP,
            sim_config(s)->os.map_cycles * (double)((hi - lo) >> 12));
    if (sim_iommu_map(s, did, lo, lo, hi - lo, true, err) < 0)
        return -1;
    os_linux_map_notify(s, did, lo, hi - lo);
    for (uint64_t a = lo; a < hi; a += 4096)
        if (!iova_xmap_insert(t->pages, did, a, 4096))
            return iosim_err_set(err, "scheme_static.c: out of memory");
    return 0;
}

static int st_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    static_scheme_t *t = state;
    uint64_t off = r->iova & 0xfffull;
    uint64_t plo = (r->aux - off) & ~0xfffull;
    uint64_t phi = (r->aux + r->size + 4095) & ~0xfffull;
    bool any_new = false;
    uint64_t run = plo;
    for (uint64_t a = plo; a < phi; a += 4096) {
        if (iova_xmap_find(t->pages, r->domain, a)) {
            if (map_run(t, r->domain, run, a, err))
                return -1;
            run = a + 4096;
        } else {
            any_new = true;
        }
    }
    if (map_run(t, r->domain, run, phi, err))
        return -1;
    if (!any_new)
        sim_count(t->s, IOSIM_ST_OS_MAP_REUSES, 1);
    /* remember trace -> phys for the device's accesses */
    uint64_t tlo = r->iova - off, size = phi - plo;
    iova_xent_t *old;
    while ((old = iova_xmap_overlap(t->trace, r->domain, tlo, tlo + size)))
        iova_xmap_remove(t->trace, old);
    iova_xent_t *e = iova_xmap_insert(t->trace, r->domain, tlo, size);
    if (!e)
        return iosim_err_set(err, "scheme_static.c: out of memory");
    e->model_iova = plo;
    e->phys = plo;
    e->cpu = r->cpu;
    return 0;
}

static int st_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    (void)err;
    static_scheme_t *t = state;
    uint64_t lo = r->iova & ~0xfffull, hi = r->iova + (r->size ? r->size : 1);
    iova_xent_t *e;
    while ((e = iova_xmap_overlap(t->trace, r->domain, lo, hi)))
        iova_xmap_remove(t->trace, e); /* the IOMMU mapping stays */
    return 0;
}

static uint64_t st_dma_iova(void *state, const iosim_rec_t *r)
{
    static_scheme_t *t = state;
    iova_xent_t *e =
        iova_xmap_find(t->trace, iova_rec_domain(t->s, r), r->iova);
    if (!e)
        return r->iova & 0xfffull;
    return e->model_iova + (r->iova - e->trace_iova);
}

const os_policy_ops_t os_policy_static = {
    .name = "static",
    .summary = "static mappings: map each page once (IOVA = phys), never "
               "unmap, no invalidations",
    .source = "Ben-Yehuda et al., The Price of Safety, OLS'07 ("
              "preallocate / never free); DPDK virtio PMD static mappings "
              "(Coquelin, DPDK Userspace 2017)",
    .translates = true,
    .create = st_create,
    .destroy = st_destroy,
    .map = st_map,
    .unmap = st_unmap,
    .dma_iova = st_dma_iova,
};
