/* scheme_optimistic.c — optimistic teardown (Amit, Ben-Yehuda, Tsafrir,
 * Schuster, "vIOMMU: Efficient IOMMU Emulation", USENIX ATC'11).
 *
 * Concepts:
 *   - An unmap does not tear the mapping down: it is kept alive for
 *     scheme.optimistic_window_ms.  A map of the same physical range (same
 *     domain, same size, write permission not widened) within the window
 *     reuses the kept mapping and its IOVA: no page-table change, no
 *     invalidation, no IOVA allocation (os.map_reuses).
 *   - A kept mapping is torn down (PTE clear + strict range invalidation +
 *     IOVA free, os.deferred_teardowns) when its window expires or when
 *     more than scheme.optimistic_quota mappings are kept (oldest first).
 *   - Protection implication: during the window the device can still
 *     reach an unmapped buffer through the page table (not a fault, not a
 *     dma.stale_hit); the window bounds the exposure.
 * Assumptions: reuse changes which IOVA a buffer gets, so the scheme
 * always allocates model IOVAs (os.iova_mode is not consulted); a kept
 * mapping whose physical range overlaps a newer kept one is torn down
 * first; the kept-cache lookup costs no CPU cycles (placeholder,
 * UNVERIFIED); the PTE-clear work (os.unmap_cycles) is paid at teardown.
 * Not modeled: the paper's sidecore emulation. */
#include <stddef.h>
#include <stdlib.h>

#include "os/iova.h"
#include "os/os.h"

/* Its parameters (scheme.*), kept in the configuration's plug-in area. */
struct optimistic_params {
    double window_ms; /* keep an unmapped mapping */
    uint32_t quota;   /* kept mappings at most */
};

#define OFF(field) offsetof(struct optimistic_params, field)

// clang-format off
static const iosim_param_t optimistic_rows[] = {
    {"scheme.optimistic_window_ms", IOSIM_P_F64,
     OFF(window_ms), "2", 0.001, 1e6, NULL,
     "optimistic: an unmapped mapping is kept this long for reuse by a map "
     "of the same physical page (ms)",
     "placeholder (UNVERIFIED): Amit et al. ATC'11 keep mappings for "
     "\"a few ms\"; exact value not taken from the paper"},
    {"scheme.optimistic_quota", IOSIM_P_U32, OFF(quota),
     "256", 1, 1048576.0, NULL,
     "optimistic: kept mappings at most; the oldest is torn down beyond it",
     "placeholder (UNVERIFIED): quota of Amit et al. ATC'11 not taken from "
     "the paper"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

typedef struct kept {
    struct kept *older, *newer; /* FIFO = expiry order */
    iova_xent_t *idx;           /* entry in the phys index */
    iova_piece_t p;
    uint16_t sid;
    uint64_t phys;
    bool write;
    uint64_t expire;
} kept_t;

typedef struct optimistic {
    iosim_sim_t *s;
    iova_remap_t *remap;
    iova_xmap_t *by_phys; /* (did, phys) -> kept_t */
    kept_t *oldest, *newest;
    uint64_t nkept;
    uint64_t window_ns;
    uint32_t quota;
} optimistic_t;

static void *op_create(iosim_sim_t *s, iosim_err_t *err)
{
    optimistic_t *o = calloc(1, sizeof *o);
    if (!o)
        return iosim_err_set(err, "scheme_optimistic.c: out of memory"), NULL;
    o->s = s;
    const struct optimistic_params *p =
        iosim_plugin_params(sim_config(s), optimistic_rows);
    o->window_ns = (uint64_t)(p->window_ms * 1e6);
    o->quota = p->quota;
    if (!(o->by_phys = iova_xmap_new()) ||
        !(o->remap = iova_remap_new(s, err))) {
        iova_xmap_free(o->by_phys);
        free(o);
        return iosim_err_set(err, "scheme_optimistic.c: out of memory"), NULL;
    }
    return o;
}

static void unlink_kept(optimistic_t *o, kept_t *k)
{
    if (k->older)
        k->older->newer = k->newer;
    else
        o->oldest = k->newer;
    if (k->newer)
        k->newer->older = k->older;
    else
        o->newest = k->older;
    iova_xmap_remove(o->by_phys, k->idx);
    o->nkept--;
}

static void op_destroy(void *state)
{
    optimistic_t *o = state;
    while (o->oldest) {
        kept_t *k = o->oldest;
        unlink_kept(o, k);
        free(k);
    }
    iova_xmap_free(o->by_phys);
    iova_remap_free(o->remap);
    free(o);
}

static uint64_t op_dma_iova(void *state, const iosim_rec_t *r)
{
    optimistic_t *o = state;
    return iova_remap_dma(o->remap, r);
}

/* The deferred unmap: PTE clear, strict invalidation, IOVA free. */
static int teardown(optimistic_t *o, kept_t *k, iosim_err_t *err)
{
    iosim_sim_t *s = o->s;
    unlink_kept(o, k);
    sim_count(s, IOSIM_ST_OS_DEFERRED_TEARDOWNS, 1);
    sim_cpu(s, SIM_CPU_UNMAP, sim_config(s)->os.unmap_cycles);
    long freed = sim_iommu_unmap(s, k->p.did, k->p.model_iova, k->p.size, err);
    if (freed >= 0) {
        os_linux_flush_range(s, k->p.did, k->sid, k->p.model_iova, k->p.size,
                             freed == 0);
        iova_remap_release(o->remap, &k->p);
        sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    }
    free(k);
    return freed < 0 ? -1 : 0;
}

static void op_tick(void *state, uint64_t now)
{
    optimistic_t *o = state;
    while (o->oldest && o->oldest->expire <= now)
        teardown(o, o->oldest, NULL); /* recorded ranges always unmap */
}

static int op_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    optimistic_t *o = state;
    iosim_sim_t *s = o->s;
    uint64_t off = r->iova & 0xfffull;
    uint64_t pages = (off + r->size + 4095) >> 12;
    uint64_t phys = r->aux - off;
    bool write = (r->flags & IOSIM_PROT_WRITE) != 0;
    iova_xent_t *ke = iova_xmap_find(o->by_phys, r->domain, phys);
    kept_t *k = ke ? ke->user : NULL;
    if (k && k->phys == phys && k->p.size == pages << 12 &&
        (k->write || !write)) {
        /* reuse: the trace's IOVA now names the kept model mapping */
        iova_xmap_t *x = iova_remap_xmap(o->remap);
        uint64_t tlo = r->iova - off;
        if (iova_xmap_overlap(x, r->domain, tlo, tlo + (pages << 12)))
            return iosim_err_set(err,
                                 "scheme_optimistic.c: map of trace iova "
                                 "0x%llx overlaps a live mapping",
                                 (unsigned long long)r->iova);
        iova_xent_t *e = iova_xmap_insert(x, r->domain, tlo, pages << 12);
        if (!e)
            return iosim_err_set(err, "scheme_optimistic.c: out of memory");
        e->cpu = r->cpu;
        e->model_iova = k->p.model_iova;
        e->phys = phys;
        e->alloc_pfn = k->p.alloc_pfn;
        e->alloc_pages = k->p.alloc_pages;
        e->user_u = write;
        unlink_kept(o, k);
        free(k);
        sim_count(s, IOSIM_ST_OS_MAP_REUSES, 1);
        return 0;
    }
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_alloc_cycles);
    sim_cpu(s, SIM_CPU_MAP, sim_config(s)->os.map_cycles);
    uint64_t iova;
    if (iova_remap_map(o->remap, r, &iova, err))
        return -1;
    iova_xent_t *e =
        iova_xmap_find(iova_remap_xmap(o->remap), r->domain, r->iova);
    if (e)
        e->user_u = write;
    if (sim_iommu_map(s, r->domain, iova, r->aux, r->size, write, err) < 0)
        return -1;
    os_linux_map_notify(s, r->domain, iova, r->size);
    return 0;
}

static int op_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    optimistic_t *o = state;
    iova_xmap_t *x = iova_remap_xmap(o->remap);
    uint64_t lo = r->iova & ~0xfffull, hi = r->iova + (r->size ? r->size : 1);
    iova_xent_t *e;
    while ((e = iova_xmap_overlap(x, r->domain, lo, hi))) {
        kept_t *k = calloc(1, sizeof *k);
        if (!k)
            return iosim_err_set(err, "scheme_optimistic.c: out of memory");
        k->phys = e->phys;
        k->write = e->user_u != 0;
        k->sid = r->device;
        k->expire = r->t + o->window_ns;
        iova_remap_take(o->remap, r, &k->p); /* detaches e */
        iova_xent_t *old;
        while ((old = iova_xmap_overlap(o->by_phys, k->p.did, k->phys,
                                        k->phys + k->p.size)))
            if (teardown(o, old->user, err)) {
                free(k);
                return -1;
            }
        k->idx = iova_xmap_insert(o->by_phys, k->p.did, k->phys, k->p.size);
        if (!k->idx) {
            free(k);
            return iosim_err_set(err, "scheme_optimistic.c: out of memory");
        }
        k->idx->user = k;
        k->older = o->newest;
        if (o->newest)
            o->newest->newer = k;
        else
            o->oldest = k;
        o->newest = k;
        o->nkept++;
        while (o->nkept > o->quota && o->oldest)
            if (teardown(o, o->oldest, err))
                return -1;
    }
    return 0;
}

const os_policy_ops_t os_policy_optimistic = {
    .params = {optimistic_rows, sizeof(struct optimistic_params), NULL},
    .name = "optimistic",
    .summary = "optimistic teardown: keep unmapped mappings a few ms and "
               "reuse them for the same physical page",
    .source = "Amit, Ben-Yehuda, Tsafrir, Schuster, vIOMMU: Efficient IOMMU "
              "Emulation, USENIX ATC'11",
    .translates = true,
    .create = op_create,
    .destroy = op_destroy,
    .map = op_map,
    .unmap = op_unmap,
    .tick = op_tick,
    .dma_iova = op_dma_iova,
};
