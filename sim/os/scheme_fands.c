/* scheme_fands.c — F&S, "Fast & Safe IO Memory Protection" (Rubin,
 * Agarwal, Cai, Agarwal, SOSP'24; FIGURES.md §1).
 *
 * Concepts:
 *   - (1) One contiguous IOVA chunk per rx descriptor: 64 pages = 256 KB
 *     (scheme.fands_chunk_pages), naturally aligned, from the Linux
 *     allocator model (iova.h); its pages are still mapped one 4 KB PTE
 *     at a time.  A trace does not say which pages form a descriptor, so
 *     descriptors are derived: consecutive rx-page maps on a CPU (size
 *     4 KB, device-writable when scheme.fands_rx_only) take consecutive
 *     slots of that CPU's current chunk; a full chunk (or a map for
 *     another domain) closes it and the next rx map opens a new one.
 *   - (2) Invalidations carry IH=1 whenever no page-table page was freed,
 *     so the paging-structure caches survive (os.pass_ih is not
 *     consulted: passing IH is part of the scheme); they are dropped only
 *     when a table page goes (Linux frees one only when an unmap covers
 *     its whole range, vtd/pgtable.h).  scheme.fands_keep_psc=false
 *     turns this part off (IH=0 always): the paper's ablation of
 *     contiguous IOVAs + batching alone.
 *   - (3) An unmap of a chunk page clears its PTE only; once every page
 *     of a closed chunk is unmapped, ONE page-selective invalidation
 *     covering the chunk (AM = log2(64) = 6) replaces 64 single-page ones,
 *     and the chunk's IOVA is freed.
 *   - Other maps (tx, multi-page buffers) are Linux strict maps with
 *     allocator IOVAs and IH passed as in (2).
 *   - Protection implication: an unmapped page of a descriptor stays
 *     reachable by the device through its stale IOTLB entry until the
 *     last page of the descriptor is unmapped and the chunk invalidation
 *     runs (counted as dma.stale_hits); F&S accept this window per
 *     descriptor instead of per page.
 * Assumptions: F&S defines its own IOVA layout, so the scheme always
 * allocates model IOVAs (os.iova_mode is not consulted).
 * Not modeled: the driver's page recycling, the paper's page-table page
 * reuse details beyond vtd/pgtable.h. */
#include <stddef.h>
#include <stdlib.h>

#include "os/iova.h"
#include "os/os.h"

/* Its parameters (scheme.*), kept in the configuration's plug-in area. */
struct fands_params {
    uint32_t chunk_pages; /* pages per rx descriptor */
    bool rx_only;         /* only 4K device-writable maps */
    bool keep_psc;        /* IH=1 on unmaps */
};

#define OFF(field) offsetof(struct fands_params, field)

// clang-format off
static const iosim_param_t fands_rows[] = {
    {"scheme.fands_chunk_pages", IOSIM_P_U32, OFF(chunk_pages),
     "64", 1, 512, NULL,
     "fands: pages per rx descriptor = pages of one contiguous IOVA chunk "
     "(invalidated by one PSI once all are unmapped)",
     "CX-5 rx descriptors hold 64 pages; F&S map one 256 KB IOVA per "
     "descriptor (Rubin et al. SOSP'24; FIGURES.md §1)"},
    {"scheme.fands_rx_only", IOSIM_P_BOOL, OFF(rx_only), "true",
     1, 0, NULL,
     "fands: only 4 KB device-writable (rx) maps fill descriptor chunks; "
     "other maps get ordinary Linux IOVAs",
     "F&S apply contiguous IOVAs to rx descriptors (FIGURES.md §1)"},
    {"scheme.fands_keep_psc", IOSIM_P_BOOL, OFF(keep_psc),
     "true", 1, 0, NULL,
     "fands: invalidate with IH=1 unless a page-table page was freed, so "
     "the paging-structure caches survive unmaps (false: IH=0 always, the "
     "scheme's contiguous IOVAs and batching without it)",
     "F&S part (2); false is the paper's ablation 'contiguous IOVAs + "
     "batching alone' (Rubin et al. SOSP'24; FIGURES.md §1)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

typedef struct fands_chunk {
    struct fands_chunk *prev, *next; /* every live chunk, for teardown */
    uint16_t did, sid;
    uint8_t cpu;
    uint64_t base; /* model IOVA of slot 0 */
    uint64_t alloc_pfn;
    uint32_t assigned; /* slots handed out */
    uint32_t live;     /* slots mapped now */
    bool closed;       /* no more slots will be handed out */
    bool table_freed;  /* some unmap freed a page-table page: IH=0 */
} fands_chunk_t;

typedef struct fands {
    iosim_sim_t *s;
    const struct fands_params *p;
    iova_remap_t *remap;
    uint32_t chunk_pages;
    fands_chunk_t *cur[IOVA_MAX_CPUS];
    fands_chunk_t *chunks; /* list head */
} fands_t;

static void *fands_create(iosim_sim_t *s, iosim_err_t *err)
{
    fands_t *f = calloc(1, sizeof *f);
    if (!f)
        return iosim_err_set(err, "scheme_fands.c: out of memory"), NULL;
    f->s = s;
    f->p = iosim_plugin_params(sim_config(s), fands_rows);
    f->chunk_pages = f->p->chunk_pages ? f->p->chunk_pages : 64;
    if (!(f->remap = iova_remap_new(s, err))) {
        free(f);
        return NULL;
    }
    return f;
}

static void fands_destroy(void *state)
{
    fands_t *f = state;
    while (f->chunks) {
        fands_chunk_t *c = f->chunks;
        f->chunks = c->next;
        free(c);
    }
    iova_remap_free(f->remap);
    free(f);
}

static uint64_t fands_dma_iova(void *state, const iosim_rec_t *r)
{
    fands_t *f = state;
    return iova_remap_dma(f->remap, r);
}

/* One range invalidation with the given IH (+ device-TLB with ATS), in
 * one submission unless os.strict_batch is 1. */
static void fands_flush(iosim_sim_t *s, uint16_t did, uint16_t sid,
                        uint64_t iova, uint64_t size, bool ih)
{
    ih = ih && ((const struct fands_params *)iosim_plugin_params(sim_config(s),
                                                                 fands_rows))
                   ->keep_psc;
    vtd_desc_t d[2] = {{.type = IOSIM_DESC_IOTLB, .did = did}};
    size_t n = 1;
    uint64_t addr;
    uint8_t am;
    vtd_psi_range(iova, size, &addr, &am);
    if (am > sim_config(s)->vtd.mamv) {
        d[0].gran = IOSIM_GRAN_DOMAIN; /* too big for a PSI (§1.6.3) */
    } else {
        d[0].gran = IOSIM_GRAN_PAGE;
        d[0].addr = addr;
        d[0].am = am;
        d[0].ih = ih;
    }
    if (sim_config(s)->vtd.ats) {
        d[1] = (vtd_desc_t){.type = IOSIM_DESC_DEVTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = did,
                            .sid = sid,
                            .addr = addr,
                            .am = am};
        n = 2;
    }
    if (sim_config(s)->os.strict_batch == 1 && n == 2) {
        sim_iommu_submit(s, &d[0], 1);
        sim_iommu_submit(s, &d[1], 1);
    } else {
        sim_iommu_submit(s, d, n);
    }
}

static bool is_rx_page(const fands_t *f, const iosim_rec_t *r)
{
    if (r->size != 4096 || (r->iova & 0xfffull))
        return false;
    return !f->p->rx_only || (r->flags & IOSIM_PROT_WRITE) != 0;
}

static fands_chunk_t *open_chunk(fands_t *f, const iosim_rec_t *r,
                                 iosim_err_t *err)
{
    iosim_sim_t *s = f->s;
    iova_domain_t *dom = iova_remap_domain(f->remap, r->domain);
    fands_chunk_t *c = calloc(1, sizeof *c);
    if (!dom || !c) {
        free(c);
        return iosim_err_set(err, "scheme_fands.c: out of memory"), NULL;
    }
    iova_tick(dom, sim_now(s));
    uint64_t pfn = iova_dma_alloc(dom, r->cpu, f->chunk_pages,
                                  iova_remap_limit_pfn(f->remap), true, NULL);
    if (!pfn) {
        free(c);
        return iosim_err_set(err,
                             "scheme_fands.c: IOVA space of domain %u "
                             "exhausted",
                             r->domain),
               NULL;
    }
    sim_count(s, IOSIM_ST_OS_IOVA_ALLOCS, 1);
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_alloc_cycles);
    c->did = r->domain;
    c->sid = r->device;
    c->cpu = r->cpu;
    c->alloc_pfn = pfn;
    c->base = pfn << IOVA_SHIFT;
    c->next = f->chunks;
    if (f->chunks)
        f->chunks->prev = c;
    f->chunks = c;
    return c;
}

/* The descriptor is done: one invalidation for all its pages, then the
 * chunk's IOVA goes back to the allocator. */
static void retire_chunk(fands_t *f, fands_chunk_t *c)
{
    iosim_sim_t *s = f->s;
    uint64_t size = (uint64_t)f->chunk_pages << IOVA_SHIFT;
    fands_flush(s, c->did, c->sid, c->base, size, !c->table_freed);
    iova_domain_t *dom = iova_remap_domain(f->remap, c->did);
    if (dom) {
        iova_tick(dom, sim_now(s));
        iova_free_fast(dom, c->cpu, c->alloc_pfn, f->chunk_pages);
    }
    sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    if (c->prev)
        c->prev->next = c->next;
    else
        f->chunks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

static int fands_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    fands_t *f = state;
    iosim_sim_t *s = f->s;
    sim_cpu(s, SIM_CPU_MAP, sim_config(s)->os.map_cycles);
    uint64_t iova;
    if (!is_rx_page(f, r)) {
        sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_alloc_cycles);
        if (iova_remap_map(f->remap, r, &iova, err))
            return -1;
    } else {
        iova_xmap_t *x = iova_remap_xmap(f->remap);
        if (iova_xmap_overlap(x, r->domain, r->iova, r->iova + 4096))
            return iosim_err_set(err,
                                 "scheme_fands.c: map of trace iova 0x%llx "
                                 "overlaps a live mapping",
                                 (unsigned long long)r->iova);
        fands_chunk_t **cur = &f->cur[r->cpu % IOVA_MAX_CPUS];
        if (*cur && (*cur)->did != r->domain) {
            fands_chunk_t *old = *cur; /* a descriptor has one domain */
            old->closed = true;
            *cur = NULL;
            if (!old->live)
                retire_chunk(f, old);
        }
        if (!*cur && !(*cur = open_chunk(f, r, err)))
            return -1;
        fands_chunk_t *c = *cur;
        iova = c->base + ((uint64_t)c->assigned << IOVA_SHIFT);
        iova_xent_t *e = iova_xmap_insert(x, r->domain, r->iova, 4096);
        if (!e)
            return iosim_err_set(err, "scheme_fands.c: out of memory");
        e->cpu = r->cpu;
        e->model_iova = iova;
        e->phys = r->aux;
        e->user = c;
        c->assigned++;
        c->live++;
        if (c->assigned == f->chunk_pages) {
            c->closed = true;
            *cur = NULL;
        }
    }
    if (sim_iommu_map(s, r->domain, iova, r->aux, r->size,
                      (r->flags & IOSIM_PROT_WRITE) != 0, err) < 0)
        return -1;
    os_linux_map_notify(s, r->domain, iova, r->size);
    return 0;
}

static int fands_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    fands_t *f = state;
    iosim_sim_t *s = f->s;
    sim_cpu(s, SIM_CPU_UNMAP, sim_config(s)->os.unmap_cycles);
    iova_xmap_t *x = iova_remap_xmap(f->remap);
    uint64_t lo = r->iova & ~0xfffull, hi = r->iova + (r->size ? r->size : 1);
    iova_xent_t *e;
    while ((e = iova_xmap_overlap(x, r->domain, lo, hi))) {
        fands_chunk_t *c = e->user;
        if (!c) { /* an ordinary mapping: strict unmap with IH */
            iova_piece_t p;
            if (!iova_remap_take(f->remap, r, &p))
                break;
            long freed = sim_iommu_unmap(s, p.did, p.model_iova, p.size, err);
            if (freed < 0)
                return -1;
            fands_flush(s, p.did, r->device, p.model_iova, p.size, freed == 0);
            iova_remap_release(f->remap, &p);
            sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
            continue;
        }
        uint64_t iova = e->model_iova, size = e->size;
        iova_xmap_remove(x, e);
        long freed = sim_iommu_unmap(s, r->domain, iova, size, err);
        if (freed < 0)
            return -1;
        if (freed)
            c->table_freed = true;
        c->live--;
        if (c->closed && c->live == 0)
            retire_chunk(f, c);
    }
    return 0;
}

const os_policy_ops_t os_policy_fands = {
    .params = {fands_rows, sizeof(struct fands_params), NULL},
    .name = "fands",
    .summary = "F&S: 256 KB contiguous IOVA per rx descriptor, IH=1, one "
               "range invalidation per descriptor",
    .source = "Rubin, Agarwal, Cai, Agarwal, Fast & Safe IO Memory "
              "Protection, SOSP'24 (FIGURES.md §1)",
    .translates = true,
    .create = fands_create,
    .destroy = fands_destroy,
    .map = fands_map,
    .unmap = fands_unmap,
    .dma_iova = fands_dma_iova,
};
