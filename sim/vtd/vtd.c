/* vtd.c — VT-d remapping hardware: translation, caches, invalidation.
 * See vtd.h for concepts, assumptions and what is not modeled. */
#include "vtd/vtd.h"

#include <stdlib.h>
#include <string.h>

#include "base/zmem.h"
#include "cache/allassoc.h"
#include "stats/stat_list.h"
#include "vtd/vtd_quick.h"

/* Second-stage DID the host uses for the VM's GPA space in nested mode
 * (any value; it only has to differ from guest DIDs in tags). */
#define VTD_HOST_S2_DID 0xffffu

/* A cache tag's fields (its layout: vtd_quick.h VTD_TAG). */
#define TAG_DID(t) ((uint16_t)((t)&0xffffu))
#define TAG_PASID(t) ((uint32_t)(((t) >> 16) & 0xfffffu))
#define TAG_LEVEL(t) ((unsigned)(((t) >> 36) & 7u))
#define TAG_STAGE(t) ((unsigned)(((t) >> 39) & 3u))

double vtd_mem_ref_ns(const vtd_t *v) { return v->ref_ns; }
vtd_xlate_t vtd_translation(const vtd_t *v) { return v->xlate; }

static cache_t *mk(const char *name, const iosim_cache_params_t *p,
                   uint64_t seed, iosim_err_t *err, bool *ok)
{
    if (!*ok)
        return NULL;
    cache_t *c = cache_new(name, p, seed, err);
    if (!c)
        *ok = false;
    return c;
}

vtd_t *vtd_new(const iosim_config_t *cfg, uint64_t *st, iosim_err_t *err)
{
    vtd_t *v = calloc(1, sizeof *v);
    if (!v)
        return iosim_err_set(err, "vtd: out of memory"), NULL;
    v->cfg = cfg;
    v->st = st;
    if (!(v->sid_did = zmem_alloc(VTD_SIDS * sizeof *v->sid_did))) {
        free(v);
        return iosim_err_set(err, "vtd: out of memory"), NULL;
    }
    const char *t = cfg->vtd.translation;
    if (!strcmp(t, "second-stage"))
        v->xlate = VTD_XLATE_SECOND;
    else if (!strcmp(t, "first-stage"))
        v->xlate = VTD_XLATE_FIRST;
    else if (!strcmp(t, "nested"))
        v->xlate = VTD_XLATE_NESTED;
    else if (!strcmp(t, "passthrough"))
        v->xlate = VTD_XLATE_PASSTHROUGH;
    else {
        zmem_free(v->sid_did, VTD_SIDS * sizeof *v->sid_did);
        free(v);
        return iosim_err_set(err, "vtd.translation: unknown '%s'", t), NULL;
    }
    /* first-stage and nested translation exist only in scalable mode
     * (PASID-table PGTT, MODEL.md §3.1). */
    v->scalable = !strcmp(cfg->vtd.root_mode, "scalable") ||
                  v->xlate == VTD_XLATE_FIRST || v->xlate == VTD_XLATE_NESTED;
    /* Table pages: host tables from 1 GiB up, guest tables from 16 MiB up
     * (arbitrary, distinct and page aligned). */
    physmem_init(&v->host_mem, 1ull << 30);
    physmem_init(&v->guest_mem, 16ull << 20);
    v->psc_scope_domain = !strcmp(cfg->vtd.psi_psc_scope, "domain");
    v->iotlb_scope = !strcmp(cfg->vtd.psi_iotlb_scope, "pde") ? IOTLB_SCOPE_PDE
                     : !strcmp(cfg->vtd.psi_iotlb_scope, "domain")
                         ? IOTLB_SCOPE_DOMAIN
                     : !strcmp(cfg->vtd.psi_iotlb_scope, "qemu-mask8")
                         ? IOTLB_SCOPE_QEMU_MASK8
                         : IOTLB_SCOPE_PAGE;
    double f = cfg->vtd.llc_hit_fraction;
    v->ref_ns = f * cfg->vtd.llc_ns + (1.0 - f) * cfg->vtd.mem_ns;
    v->iq_max = cfg->vtd.iq_batch_max ? cfg->vtd.iq_batch_max : 1;

    bool ok = true;
    cache_t *c[IOSIM_CACHE_COUNT];
#define IOSIM_X_CACHE(id, name, field, off)                                    \
    c[IOSIM_CACHE_##id] = mk(name, &cfg->field, cfg->sim.seed + off, err, &ok);
    IOSIM_VTD_CACHES(IOSIM_X_CACHE)
#undef IOSIM_X_CACHE
    v->iotlb = c[IOSIM_CACHE_IOTLB];
    v->ctx = c[IOSIM_CACHE_CONTEXT];
    v->pasid = c[IOSIM_CACHE_PASID];
    v->devtlb = c[IOSIM_CACHE_DEVTLB];
    v->s2_tlb = c[IOSIM_CACHE_S2_TLB];
    for (int i = 0; i < 4; i++) {
        v->psc[i] = c[IOSIM_CACHE_PSC_PML5 + i];
        v->s2_psc[i] = c[IOSIM_CACHE_S2_PSC_PML5 + i];
    }
    if (ok) {
        v->ats = cfg->vtd.ats && cache_enabled(v->devtlb);
        vtd_set_shortcuts(v, true);
        v->iotlb_ns = cache_enabled(v->iotlb) ? cfg->vtd.iotlb.hit_ns : 0;
        v->ctx_ns = cache_enabled(v->ctx) ? cfg->vtd.context_cache.hit_ns : 0;
        v->pasid_ns = cache_enabled(v->pasid) ? cfg->vtd.pasid_cache.hit_ns : 0;
        v->s2_tlb_ns = cache_enabled(v->s2_tlb) ? cfg->vtd.s2_tlb.hit_ns : 0;
        for (int i = 0; i < 4; i++) {
            v->psc_ns[i] =
                cache_enabled(v->psc[i]) ? cfg->vtd.psc[i].hit_ns : 0;
            v->s2_psc_ns[i] =
                cache_enabled(v->s2_psc[i]) ? cfg->vtd.s2_psc[i].hit_ns : 0;
        }
        /* the quick path's latencies: translate's sums, in its order */
        double ns = 0;
        ns += v->ctx_ns;
        ns += v->iotlb_ns;
        v->quick_hit_ns = ns;
        ns += v->psc_ns[vtd_psc_slot(2)];
        ns += v->ref_ns;
        v->quick_walk_ns = ns;
    }
    if (ok && v->xlate == VTD_XLATE_NESTED) {
        if (pgtable_init(&v->s2, (uint8_t)cfg->vtd.ss_levels, &v->host_mem)) {
            iosim_err_set(err, "vtd: out of memory");
            ok = false;
        } else
            v->s2_ready = true;
    }
    if (!ok) {
        vtd_free(v);
        return NULL;
    }
    return v;
}

void vtd_free(vtd_t *v)
{
    if (!v)
        return;
    uint32_t cursor = 0;
    uint16_t did;
    uintptr_t value;
    while (sparse16_next(&v->dom, &cursor, &did, &value)) {
        vtd_domain_t *d = (vtd_domain_t *)value;
        pgtable_fini(&d->pt);
        free(d);
    }
    sparse16_fini(&v->dom);
    if (v->s2_ready)
        pgtable_fini(&v->s2);
    cache_free(v->iotlb);
    cache_free(v->ctx);
    cache_free(v->pasid);
    cache_free(v->devtlb);
    cache_free(v->s2_tlb);
    for (int i = 0; i < 4; i++) {
        cache_free(v->psc[i]);
        cache_free(v->s2_psc[i]);
    }
    physmem_fini(&v->host_mem);
    physmem_fini(&v->guest_mem);
    zmem_free(v->sid_did, VTD_SIDS * sizeof *v->sid_did);
    free(v);
}

void vtd_attach(vtd_t *v, uint16_t sid, uint16_t did) { v->sid_did[sid] = did; }

void vtd_as_front(vtd_t *v, uint64_t *scratch)
{
    v->st = scratch;
    v->iq_max = 0;
}

uint16_t vtd_domain_of(const vtd_t *v, uint16_t sid) { return v->sid_did[sid]; }

static unsigned stage1_levels(const vtd_t *v)
{
    return v->xlate == VTD_XLATE_SECOND ? v->cfg->vtd.ss_levels
                                        : v->cfg->vtd.fs_levels;
}

static vtd_domain_t *domain_get(vtd_t *v, uint16_t did, iosim_err_t *err)
{
    vtd_domain_t *d = vtd_domain_find(v, did);
    if (d)
        return d;
    d = calloc(1, sizeof *d);
    physmem_t *mem =
        v->xlate == VTD_XLATE_NESTED ? &v->guest_mem : &v->host_mem;
    if (!d || pgtable_init(&d->pt, (uint8_t)stage1_levels(v), mem)) {
        free(d);
        v->out_of_memory = true;
        return iosim_err_set(err, "vtd: out of memory"), NULL;
    }
    if (sparse16_set(&v->dom, did, (uintptr_t)d)) {
        pgtable_fini(&d->pt);
        free(d);
        v->out_of_memory = true;
        return iosim_err_set(err, "vtd: out of memory"), NULL;
    }
    return d;
}

/* Nested: the host backs every guest-physical page the IOMMU touches
 * (table pages and data) with a second-stage mapping, made on first
 * use, GPA + 64 GiB (any offset works), with 4 KB host pages: placeholder
 * (UNVERIFIED; a host backing guest RAM with 2 MB or 1 GB pages would give
 * fewer second-stage walks and larger combined IOTLB entries). */
#define NESTED_HPA_OFFSET (64ull << 30)
static void s2_ensure(vtd_t *v, uint64_t gpa)
{
    uint64_t page = gpa & ~0xfffull;
    if (!pgtable_is_mapped(&v->s2, page) &&
        pgtable_map(&v->s2, page, page + NESTED_HPA_OFFSET, 4096, true,
                    false) == PGTABLE_ENOMEM)
        v->out_of_memory = true;
}

bool vtd_out_of_memory(const vtd_t *v) { return v->out_of_memory; }

long vtd_map(vtd_t *v, uint16_t did, uint64_t iova, uint64_t phys,
             uint64_t size, bool write, iosim_err_t *err)
{
    if (v->xlate == VTD_XLATE_PASSTHROUGH)
        return 0;
    vtd_domain_t *d = domain_get(v, did, err);
    if (!d)
        return -1;
    uint64_t before = d->pt.mapped_4k;
    long n = pgtable_map(&d->pt, iova, phys, size, write, true);
    /* a failed map may have mapped a prefix: keep the total exact */
    v->mapped_4k_total += d->pt.mapped_4k - before;
    if (n == PGTABLE_ENOMEM) {
        v->out_of_memory = true;
        return iosim_err_set(err, "vtd: out of memory");
    }
    if (n < 0)
        return iosim_err_set(err,
                             "map of iova 0x%llx size %llu in domain %u "
                             "overlaps a live mapping or exceeds the "
                             "address width",
                             (unsigned long long)iova, (unsigned long long)size,
                             did);
    if (v->xlate == VTD_XLATE_NESTED) {
        /* data pages and any new guest table pages need host backing */
        for (uint64_t off = 0; off < size; off += 4096)
            s2_ensure(v, phys + off);
        /* One walk per 2 MB region the range touches (each has its own
         * leaf table); stepping by 2 MB from an unaligned iova would skip
         * the last region. */
        pt_walk_t w;
        uint64_t region = pt_level_span(2), end = iova + size;
        for (uint64_t a = iova; a < end; a = (a & ~(region - 1)) + region) {
            if (pgtable_walk(&d->pt, a, &w))
                for (unsigned l = 1; l <= d->pt.levels; l++)
                    if (w.table_pa[l - 1])
                        s2_ensure(v, w.table_pa[l - 1]);
        }
    }
    /* pt.mappings_peak counts the live mappings of all domains */
    if (v->mapped_4k_total > v->st[IOSIM_ST_MAPPINGS_PEAK])
        v->st[IOSIM_ST_MAPPINGS_PEAK] = v->mapped_4k_total;
    return n;
}

long vtd_unmap(vtd_t *v, uint16_t did, uint64_t iova, uint64_t size,
               iosim_err_t *err)
{
    if (v->xlate == VTD_XLATE_PASSTHROUGH)
        return 0;
    /* A domain that never mapped has nothing to unmap; creating it here
     * would allocate a root table page. */
    vtd_domain_t *d = vtd_domain_find(v, did);
    if (!d)
        return 0;
    uint64_t removed = 0;
    long n = pgtable_unmap(&d->pt, iova, size, &removed);
    if (n < 0)
        return iosim_err_set(err,
                             "unmap of iova 0x%llx exceeds the address "
                             "width of domain %u",
                             (unsigned long long)iova, did);
    v->mapped_4k_total -= removed >> PT_PAGE_SHIFT;
    v->st[IOSIM_ST_PT_PAGES_FREED] += (uint64_t)n;
    return n;
}

bool vtd_lookup(vtd_t *v, uint16_t did, uint64_t iova, uint64_t *phys)
{
    vtd_domain_t *d = vtd_domain_find(v, did);
    pt_walk_t w;
    if (!d || !pgtable_walk(&d->pt, iova, &w))
        return false;
    if (phys)
        *phys = w.phys;
    return true;
}

int vtd_host_for_each_leaf(vtd_t *v, uint16_t did, uint64_t lo, uint64_t hi,
                           pgtable_leaf_fn fn, void *arg)
{
    vtd_domain_t *d = vtd_domain_find(v, did);
    return d ? pgtable_for_each_leaf(&d->pt, lo, hi, fn, arg) : 0;
}

uint64_t vtd_pt_pages_live(const vtd_t *v)
{
    return v->host_mem.live + v->guest_mem.live;
}
uint64_t vtd_pt_pages_peak(const vtd_t *v)
{
    return v->host_mem.peak + v->guest_mem.peak;
}
uint64_t vtd_mapped_4k(const vtd_t *v) { return v->mapped_4k_total; }

/* ---- translation ------------------------------------------------------ */

typedef struct walk_acc {
    uint32_t reads, reads_s1, reads_s2, reads_ctx;
    double ns;
} walk_acc_t;

static inline void acc_read(vtd_t *v, walk_acc_t *a, int kind)
{
    a->reads++;
    a->ns += v->ref_ns;
    if (kind == 1)
        a->reads_s1++;
    else if (kind == 2)
        a->reads_s2++;
    else
        a->reads_ctx++;
}

/* Walks table pt for addr using the paging-structure caches psc[] (tag
 * built from did/pasid/stage).  Adds reads to a; returns the leaf walk.
 * For the guest first stage (gpa_tables), each table page read first
 * translates the table's GPA through the second stage.  one_read: a walk
 * that reads only its leaf takes a short step (vtd_translate's plain
 * copy; its general copy, the plain path tests compare with, does not). */
static double s2_translate(vtd_t *v, uint64_t gpa, walk_acc_t *a,
                           uint64_t *hpa);

static inline __attribute__((always_inline)) bool
walk_table(vtd_t *v, const pgtable_t *pt, cache_t *const psc[4],
           const double psc_ns[4], uint16_t did, uint32_t pasid, unsigned stage,
           uint64_t addr, bool gpa_tables, bool count_psc, bool one_read,
           walk_acc_t *a, pt_walk_t *w)
{
    /* the table addresses matter only when the tables are in guest
     * memory (each goes through the second stage) */
    bool mapped =
        gpa_tables ? pgtable_walk(pt, addr, w) : pgtable_walk_leaf(pt, addr, w);
    unsigned top = pt->levels;
    unsigned leaf = mapped ? w->leaf_level : w->fault_level;
    /* The lowest cached non-leaf entry above the leaf decides where the
     * walk starts: a hit on the level-L entry means the level L-1 table's
     * address is known. */
    unsigned start = top; /* level of the first table read */
    bool start_cached = false;
    /* An inline-LRU PSC's miss at level lvl: its set, where the loop
     * below fills the key (cache_lru_fill).  Every level probed and missed
     * is filled there and nothing else touches its PSC in between (the
     * nested case's second stage has its own caches), so neither the miss
     * memo (cache_note_miss) nor cache_insert's check of it is needed: the
     * same lines and orders as cache_lookup then cache_insert. */
    uint32_t miss_set[6];
    unsigned miss_known = 0;
    for (unsigned lvl = leaf + 1; lvl <= top && lvl >= 2; lvl++) {
        cache_t *c = psc[vtd_psc_slot(lvl)];
        a->ns += psc_ns[vtd_psc_slot(lvl)];
        cache_key_t k = {addr >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                         VTD_TAG(did, pasid, lvl, stage)};
        bool hit;
        if (c->lru_inline) { /* cache_lru_lookup's probe */
            hit = cache_lru_probe(c, k.addr, k.tag, NULL, &miss_set[lvl]);
            if (!hit)
                miss_known |= 1u << lvl;
        } else {
            hit = cache_lookup(c, k, NULL);
        }
        if (hit) {
            start = lvl - 1;
            start_cached = true;
            break;
        }
        if (count_psc) {
            if (lvl == 2)
                v->st[IOSIM_ST_PSC3_MISSES]++;
            else if (lvl == 3)
                v->st[IOSIM_ST_PSC2_MISSES]++;
            else if (lvl == 4)
                v->st[IOSIM_ST_PSC1_MISSES]++;
        }
    }
    if (one_read && !gpa_tables && start == leaf && leaf >= 1) {
        /* one read, the leaf's (its table's pointer came from a PSC hit
         * or the leaf is the top): the loop below's one pass */
        acc_read(v, a, stage);
        v->st[IOSIM_ST_WALK_READS_L1 + leaf - 1]++;
        return mapped;
    }
    for (unsigned lvl = start; lvl >= leaf && lvl >= 1; lvl--) {
        /* Nested: the table page's GPA goes through the second stage,
         * except a table whose pointer came from a PSC hit (cached with
         * its host address). */
        if (gpa_tables && !(start_cached && lvl == start))
            s2_translate(v, w->table_pa[lvl - 1], a, NULL);
        acc_read(v, a, stage);
        v->st[IOSIM_ST_WALK_READS_L1 + lvl - 1]++;
        if (lvl >= 2 && lvl > leaf) { /* cache the non-leaf entry read */
            cache_key_t k = {addr >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                             VTD_TAG(did, pasid, lvl, stage)};
            if (miss_known >> lvl & 1u)
                cache_lru_fill(psc[vtd_psc_slot(lvl)], miss_set[lvl], k.addr,
                               k.tag, 0);
            else
                cache_insert(psc[vtd_psc_slot(lvl)], k, 0);
        }
        if (lvl == 1)
            break;
    }
    return mapped;
}

static double s2_translate(vtd_t *v, uint64_t gpa, walk_acc_t *a, uint64_t *hpa)
{
    cache_key_t k = {gpa >> PT_PAGE_SHIFT,
                     VTD_TAG(VTD_HOST_S2_DID, 0, 1, VTD_STAGE_2)};
    uint64_t val;
    a->ns += v->s2_tlb_ns;
    if (cache_lookup(v->s2_tlb, k, &val)) {
        if (hpa)
            *hpa = val | (gpa & 0xfff);
        return 0;
    }
    pt_walk_t w;
    bool ok = walk_table(v, &v->s2, v->s2_psc, v->s2_psc_ns, VTD_HOST_S2_DID, 0,
                         VTD_STAGE_2, gpa, false, false, false, a, &w);
    if (ok) {
        cache_insert(v->s2_tlb, k, w.phys & ~0xfffull);
        if (hpa)
            *hpa = w.phys;
    }
    return 0;
}

/* translate's steps after the IOTLB missed in domain d: the walk and, if
 * the page is mapped (true, its address in *phys), the IOTLB's fill.
 * set1_known: the caller probed the 4 KB key without noting its miss
 * (cache_lru_probe) and found set set1, where a 4 KB leaf is filled
 * (cache_lru_fill, the fill cache_insert makes after a noted miss). */
static inline __attribute__((always_inline)) bool
walk_fill(vtd_t *v, vtd_domain_t *d, uint16_t did, uint32_t pasid,
          uint64_t iova, bool any, bool set1_known, uint32_t set1,
          walk_acc_t *a, uint64_t *phys_out)
{
    pt_walk_t w;
    bool nested = any && v->xlate == VTD_XLATE_NESTED;
    unsigned stage =
        !any || v->xlate == VTD_XLATE_SECOND ? VTD_STAGE_2 : VTD_STAGE_1;
    /* two copies of the walk: the host's tables need no second stage */
    bool mapped = nested ? walk_table(v, &d->pt, v->psc, v->psc_ns, did, pasid,
                                      stage, iova, true, true, false, a, &w)
                         : walk_table(v, &d->pt, v->psc, v->psc_ns, did, pasid,
                                      stage, iova, false, true, !any, a, &w);
    if (!mapped)
        return false;
    uint64_t phys = w.phys;
    if (nested)
        s2_translate(v, w.phys, a, &phys);
    *phys_out = phys;
    /* Nested: the host backs guest memory with 4 KB pages (s2_ensure), so
     * the combined translation is 4 KB whatever the guest leaf size. */
    unsigned lvl = nested ? 1u : w.leaf_level;
    d->leaf_sizes |= (uint8_t)(1u << (lvl - 1));
    uint64_t span = pt_level_span(lvl);
    cache_key_t k = {iova >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                     VTD_TAG(did, pasid, lvl, 0)};
    if (set1_known && lvl == 1
            ? cache_lru_fill(v->iotlb, set1, k.addr, k.tag, phys & ~(span - 1))
            : cache_insert(v->iotlb, k, phys & ~(span - 1)))
        v->st[IOSIM_ST_IOTLB_EVICTIONS]++;
    return true;
}

/* A geometry of the IOTLB that missed where this one hit would walk and
 * fill: the same key (allassoc.h) only if the page is mapped with a leaf
 * of the hit entry's level (nested: always 4 KB). */
static void shadow_check_fill(vtd_t *v, const vtd_domain_t *d, uint64_t iova,
                              unsigned lvl)
{
    pt_walk_t w;
    if (!d || !pgtable_walk(&d->pt, iova, &w) ||
        (v->xlate != VTD_XLATE_NESTED && w.leaf_level != lvl) ||
        (v->xlate == VTD_XLATE_NESTED && lvl != 1))
        allassoc_inexact(cache_shadow(v->iotlb));
}

cache_t *vtd_iotlb_cache(vtd_t *v) { return v->iotlb; }

void vtd_set_shortcuts(vtd_t *v, bool on)
{
    v->plain = on && !v->ats && !v->scalable && v->xlate == VTD_XLATE_SECOND;
    v->inval_scan = !on;
    cache_t *c[] = {v->iotlb,    v->ctx,       v->pasid,     v->devtlb,
                    v->s2_tlb,   v->psc[0],    v->psc[1],    v->psc[2],
                    v->psc[3],   v->s2_psc[0], v->s2_psc[1], v->s2_psc[2],
                    v->s2_psc[3]};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        cache_set_inline(c[i], on);
}

bool vtd_plain_copy(const vtd_t *v) { return v->plain; }
cache_t *vtd_psc_cache(vtd_t *v, unsigned slot) { return v->psc[slot & 3]; }
cache_t *vtd_ctx_cache(vtd_t *v) { return v->ctx; }

/* The translation; any = false is the copy for v->plain without an IOTLB
 * shadow, where the steps such a composition never takes are left out
 * (the same steps in the same order otherwise). */
static inline __attribute__((always_inline)) vtd_xlate_result_t
translate(vtd_t *v, uint16_t sid, uint32_t pasid, uint16_t did, uint64_t iova,
          bool any)
{
    vtd_xlate_result_t r = {0};
    walk_acc_t a = {0};
    const iosim_config_t *cfg = v->cfg;
    if (did == 0)
        did = v->sid_did[sid];
    v->pasids_used |= pasid;

    /* Device-TLB (ATS): a hit never reaches the IOMMU. */
    if (any && v->ats) {
        v->st[IOSIM_ST_DEVTLB_LOOKUPS]++;
        cache_key_t dk = {iova >> PT_PAGE_SHIFT, VTD_TAG(sid, pasid, 1, 0)};
        uint64_t phys;
        if (cache_lookup(v->devtlb, dk, &phys)) {
            r.devtlb_hit = true;
            r.latency_ns = cfg->vtd.devtlb.hit_ns;
            r.phys = phys | (iova & 0xfff);
            return r;
        }
        v->st[IOSIM_ST_DEVTLB_MISSES]++;
    }

    /* Context (and PASID) entry. */
    cache_key_t ck = {sid, VTD_TAG(0, 0, 0, 0)};
    a.ns += v->ctx_ns;
    if (!cache_lookup(v->ctx, ck, NULL)) {
        v->st[IOSIM_ST_CTX_MISSES]++;
        acc_read(v, &a, 0); /* root entry    */
        acc_read(v, &a, 0); /* context entry */
        cache_insert(v->ctx, ck, did);
    }
    if (any && v->scalable) {
        cache_key_t pk = {pasid, VTD_TAG(did, 0, 0, 0)};
        a.ns += v->pasid_ns;
        if (!cache_lookup(v->pasid, pk, NULL)) {
            v->st[IOSIM_ST_PASID_MISSES]++;
            acc_read(v, &a, 0); /* PASID directory entry */
            acc_read(v, &a, 0); /* PASID table entry     */
            cache_insert(v->pasid, pk, did);
        }
    }

    if (any && v->xlate == VTD_XLATE_PASSTHROUGH) {
        r.phys = iova;
        goto done;
    }

    vtd_domain_t *d = vtd_domain_find(v, did);
    /* IOTLB: probe each page size the domain has used. */
    v->st[IOSIM_ST_IOTLB_LOOKUPS]++;
    a.ns += v->iotlb_ns;
    uint8_t sizes = d ? (d->leaf_sizes | 1u) : 1u;
    const uint64_t tag0 = VTD_TAG(did, pasid, 0, 0); /* | the level's bits */
    /* levels 1..3 whose bit is set, lowest first: one step a probe */
    for (unsigned bits = sizes & 7u; bits; bits &= bits - 1) {
        unsigned lvl = (unsigned)__builtin_ctz(bits) + 1u;
        cache_key_t k = {iova >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                         tag0 | VTD_TAG(0, 0, lvl, 0)};
        uint64_t phys;
        if (cache_lookup(v->iotlb, k, &phys)) {
            if (any && __builtin_expect(cache_shadow(v->iotlb) != NULL, 0))
                shadow_check_fill(v, d, iova, lvl);
            v->st[IOSIM_ST_IOTLB_HITS]++;
            r.iotlb_hit = true;
            r.phys = phys | (iova & (pt_level_span(lvl) - 1));
            goto done;
        }
    }
    v->st[IOSIM_ST_IOTLB_MISSES]++;
    v->st[IOSIM_ST_WALKS]++;
    if (!d) {
        r.fault = true;
        goto done;
    }
    if (!walk_fill(v, d, did, pasid, iova, any, false, 0, &a, &r.phys)) {
        r.fault = true;
        goto done;
    }

done:
    if (any && !r.fault && v->ats) {
        cache_key_t dk = {iova >> PT_PAGE_SHIFT, VTD_TAG(sid, pasid, 1, 0)};
        cache_insert(v->devtlb, dk, r.phys & ~0xfffull);
    }
    r.mem_reads = a.reads;
    r.latency_ns = a.ns;
    v->st[IOSIM_ST_WALK_READS] += a.reads;
    v->st[IOSIM_ST_WALK_READS_S1] += a.reads_s1;
    v->st[IOSIM_ST_WALK_READS_S2] += a.reads_s2;
    v->st[IOSIM_ST_WALK_READS_CTX] += a.reads_ctx;
    return r;
}

/* The plain composition (legacy second stage, no ATS) with no shadow on
 * the IOTLB: translate's copy without the steps it never takes applies. */
bool vtd_plain_brief_ok(const vtd_t *v)
{
    return v->plain && !cache_shadow(v->iotlb);
}

vtd_xlate_result_t vtd_translate(vtd_t *v, uint16_t sid, uint32_t pasid,
                                 uint16_t did, uint64_t iova, bool write)
{
    (void)write;
    if (vtd_plain_brief_ok(v))
        return translate(v, sid, pasid, did, iova, false);
    return translate(v, sid, pasid, did, iova, true);
}

/* The plain copy again, inlined here so that the result's unused fields
 * (phys, the hit flags) are never computed or stored. */
vtd_xlate_brief_t vtd_translate_brief(vtd_t *v, uint16_t sid, uint32_t pasid,
                                      uint16_t did, uint64_t iova, bool write)
{
    vtd_xlate_result_t r = vtd_plain_brief_ok(v)
                               ? translate(v, sid, pasid, did, iova, false)
                               : vtd_translate(v, sid, pasid, did, iova, write);
    return (vtd_xlate_brief_t){r.latency_ns, r.mem_reads, r.fault, false};
}

/* vtd_translate_brief's plain copy, its caller having asked
 * vtd_plain_brief_ok once for many requests: where vtd_translate_quick
 * (vtd_quick.h) cannot answer. */
vtd_xlate_brief_t vtd_translate_plain_slow(vtd_t *v, uint16_t sid,
                                           uint32_t pasid, uint16_t did,
                                           uint64_t iova)
{
    v->quick_bails++;
    vtd_xlate_result_t r = translate(v, sid, pasid, did, iova, false);
    return (vtd_xlate_brief_t){r.latency_ns, r.mem_reads, r.fault, false};
}

/* vtd_translate_quick's walk where its own steps do not apply: the
 * context cache hit, the IOTLB missed (its probes noted nothing, the 4 KB
 * key's set is set1 when set1_known), and translate's steps from there
 * on. */
static inline __attribute__((always_inline)) vtd_xlate_brief_t
quick_walk(vtd_t *v, vtd_domain_t *d, uint16_t did, uint32_t pasid,
           uint64_t iova, bool set1_known, uint32_t set1)
{
    walk_acc_t a = {.ns = v->quick_hit_ns};
    uint64_t *st = v->st, phys;
    st[IOSIM_ST_IOTLB_LOOKUPS]++;
    st[IOSIM_ST_IOTLB_MISSES]++;
    st[IOSIM_ST_WALKS]++;
    bool mapped =
        walk_fill(v, d, did, pasid, iova, false, set1_known, set1, &a, &phys);
    st[IOSIM_ST_WALK_READS] += a.reads;
    st[IOSIM_ST_WALK_READS_S2] += a.reads_s2; /* the plain copy's only kind */
    return (vtd_xlate_brief_t){a.ns, a.reads, !mapped, false};
}

vtd_xlate_brief_t vtd_quick_walk(vtd_t *v, vtd_domain_t *d, uint16_t did,
                                 uint32_t pasid, uint64_t iova, uint32_t set1)
{
    return quick_walk(v, d, did, pasid, iova, true, set1);
}

/* (the fill through cache_insert, which tells the IOTLB's shadow) */
vtd_xlate_brief_t vtd_quick_walk_sh(vtd_t *v, vtd_domain_t *d, uint16_t did,
                                    uint32_t pasid, uint64_t iova)
{
    return quick_walk(v, d, did, pasid, iova, false, 0);
}

uint64_t vtd_quick_bails(const vtd_t *v) { return v->quick_bails; }

void vtd_quick_sh_check(vtd_t *v, const vtd_domain_t *d, uint64_t iova,
                        unsigned lvl)
{
    /* a 4 KB hit whose page the memo's level-1 table holds mapped: a 4 KB
     * leaf (the full walk's answer) */
    const pt_memo_ent_t *m;
    if (lvl == 1 && (m = pgtable_memo_ent(&d->pt, iova)) &&
        (m->table->ent[(iova >> PT_PAGE_SHIFT) & 511u] & PT_ENT_PRESENT))
        return;
    shadow_check_fill(v, d, iova, lvl);
}

bool vtd_quick_sh_ok(const vtd_t *v)
{
    return v->plain && cache_shadow(v->iotlb) != NULL;
}

/* ---- invalidation ------------------------------------------------------ */

typedef struct inval_match {
    bool by_did, by_pasid, by_range, by_stage;
    uint16_t did;
    uint32_t pasid;
    uint64_t lo, hi; /* byte range [lo, hi) */
    unsigned stage;
} inval_match_t;

/* Does the cache line (an IOTLB entry or a PSC entry) fall in m?  The
 * line's address span follows from its level: addr << (12 + 9(level-1)). */
static bool match_line(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    const inval_match_t *m = arg;
    if (m->by_did && TAG_DID(k.tag) != m->did)
        return false;
    if (m->by_pasid && TAG_PASID(k.tag) != m->pasid)
        return false;
    if (m->by_stage && TAG_STAGE(k.tag) != m->stage)
        return false;
    if (m->by_range) {
        unsigned lvl = TAG_LEVEL(k.tag);
        unsigned shift = PT_PAGE_SHIFT + 9u * (lvl ? lvl - 1u : 0u);
        uint64_t lo = k.addr << shift, hi = lo + (1ull << shift);
        if (hi <= m->lo || lo >= m->hi)
            return false;
    }
    return true;
}

/* QEMU's software IOTLB before 9.1 (vtd_hash_remove_by_page with
 * VTDIOTLBPageInvInfo.mask a uint8_t; fixed by "intel_iommu: fix type of
 * the mask field in VTDIOTLBPageInvInfo", QEMU commit of July 2024, which
 * names b5a280c00840 "intel-iommu: add IOTLB using hash table" as the
 * origin): a page-selective invalidation of address A with mask AM keeps
 * only bits AM..7 of its mask, so it removes every entry of its domain
 * whose 4 KB page number equals A's in those bits (all of them for
 * AM >= 8), besides the entry that holds A itself.  Checked per
 * translation against QEMU 7.2's own vtd_iotlb_page_hit/update log
 * (tests/cli/ground_truth.sh). */
typedef struct qemu_psi {
    uint16_t did;
    bool by_pasid;
    uint32_t pasid;
    uint64_t addr; /* the descriptor's address, not aligned to AM */
    uint8_t mask8; /* ~(2^AM - 1) cut to 8 bits, as QEMU stored it */
} qemu_psi_t;

static bool match_qemu_psi(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    const qemu_psi_t *q = arg;
    if (TAG_DID(k.tag) != q->did ||
        (q->by_pasid && TAG_PASID(k.tag) != q->pasid))
        return false;
    unsigned lvl = TAG_LEVEL(k.tag);
    unsigned shift = 9u * (lvl ? lvl - 1u : 0u); /* 4 KB pages per entry */
    uint64_t entry_gfn = k.addr << shift; /* QEMU's entry->gfn: base page */
    uint64_t gfn = (q->addr >> PT_PAGE_SHIFT) & q->mask8;
    uint64_t gfn_tlb = ((q->addr >> PT_PAGE_SHIFT) >> shift) << shift;
    return (entry_gfn & q->mask8) == gfn || entry_gfn == gfn_tlb;
}

/* Whether an invalidation must visit c: it holds lines, or a shadow
 * (cache/allassoc.h) is told of every invalidation (the fields, not
 * cache_valid_lines: no call on the path every invalidation takes). */
static inline bool inval_visits(const cache_t *c)
{
    return (c->enabled && c->nvalid != 0) || c->shadow;
}

/* Whether the PASID of every tag m can match is known (m names one, or
 * no request ever carried a PASID), so its lines can be found by key. */
static inline bool pasid_known(const vtd_t *v, const inval_match_t *m)
{
    return m->by_pasid ? m->pasid <= 0xfffffu && v->pasids_used <= 0xfffffu
                       : v->pasids_used == 0;
}

/* The lines of c of the levels in `levels` tagged (did, pasid, level,
 * stage) in [lo, hi), lo < hi: one range a level, removed by
 * cache_invalidate_ranges (probed or scanned, whichever is cheaper). */
static inline __attribute__((always_inline)) size_t
inval_ranges(cache_t *c, unsigned levels, uint16_t did, uint32_t pasid,
             unsigned stage, uint64_t lo, uint64_t hi)
{
    cache_range_t r[5];
    size_t n = 0;
    for (unsigned bits = levels & 31u; bits; bits &= bits - 1) {
        unsigned l = (unsigned)__builtin_ctz(bits) + 1u;
        unsigned shift = PT_PAGE_SHIFT + 9u * (l - 1u);
        r[n++] = (cache_range_t){VTD_TAG(did, pasid, l, stage), lo >> shift,
                                 (hi - 1) >> shift};
    }
    return cache_invalidate_ranges(c, r, n);
}

/* Removes the lines of c that match m, holding entries of the levels
 * whose bit (level L: bit L - 1) is set in `levels`, tagged with `stage`.
 * A page-selective m names one DID and a range: each level's lines in
 * it are the keys of one tag (DID, PASID, level, stage) with addrs from
 * the range's first to its last entry of that level's size, which
 * cache_invalidate_ranges removes by probing the keys, or, when they are
 * many, by one scan.  That needs the PASIDs of the tags: m names one, or
 * no request ever carried a PASID (every tag holds PASID 0).  Otherwise
 * (and with v->inval_scan) every line is tested. */
static inline __attribute__((always_inline)) size_t
inval_lines(vtd_t *v, cache_t *c, const inval_match_t *m, unsigned levels,
            unsigned stage)
{
    if (!inval_visits(c))
        return 0;
    if (v->inval_scan)
        return cache_invalidate_if(c, match_line, (void *)m);
    if (m->by_did && m->by_range && !m->by_stage && pasid_known(v, m) &&
        m->lo < m->hi) {
        return inval_ranges(c, levels, m->did, m->by_pasid ? m->pasid : 0,
                            stage, m->lo, m->hi);
    }
    return cache_invalidate_if(c, match_line, (void *)m);
}

/* The levels of the IOTLB entries of domain did: a fill of level L sets
 * bit L - 1 of its domain's leaf_sizes (walk_fill, vtd_quick.h), never
 * cleared, so no entry of another level exists; level 1 is kept always
 * (an IOTLB shadow is then told of the same first key as before). */
static unsigned iotlb_levels(const vtd_t *v, uint16_t did)
{
    const vtd_domain_t *d = vtd_domain_find(v, did);
    return d ? (d->leaf_sizes | 1u) & 7u : 1u;
}

static size_t inval_pscs(vtd_t *v, const inval_match_t *m)
{
    /* psc[i] holds only level 5-i entries, all of the stage vtd_translate
     * walks with */
    unsigned stage = v->xlate == VTD_XLATE_SECOND ? VTD_STAGE_2 : VTD_STAGE_1;
    size_t n = 0;
    for (unsigned i = 0; i < 4; i++)
        n += inval_lines(v, v->psc[i], m, 1u << (4 - i), stage);
    return n;
}

/* inval_iotlb of the usual page-selective invalidation (strict unmaps: one
 * a buffer), where inval_lines would probe every cache: the IOTLB's range
 * at vtd.psi_iotlb_scope page, then (keep_psc false, vtd.psi_psc_scope
 * range) each PSC's, the checks inval_lines makes per cache made once.
 * False (nothing done) where that does not hold. */
static bool inval_psi(vtd_t *v, const inval_match_t *m, bool keep_psc)
{
    if (v->inval_scan || v->iotlb_scope != IOTLB_SCOPE_PAGE ||
        (!keep_psc && v->psc_scope_domain) || m->lo >= m->hi ||
        !pasid_known(v, m))
        return false;
    uint64_t *st = v->st;
    const uint16_t did = m->did;
    const uint32_t pasid = m->by_pasid ? m->pasid : 0;
    const unsigned levels = iotlb_levels(v, did);
    if (levels == 1u) { /* 4 KB entries only: the one range, no loop */
        cache_t *c = v->iotlb;
        const cache_range_t r = {VTD_TAG(did, pasid, 1, 0),
                                 m->lo >> PT_PAGE_SHIFT,
                                 (m->hi - 1) >> PT_PAGE_SHIFT};
        if (inval_visits(c))
            st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +=
                cache_invalidate_ranges(c, &r, 1);
    } else {
        if (inval_visits(v->iotlb))
            st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +=
                inval_ranges(v->iotlb, levels, did, pasid, 0, m->lo, m->hi);
    }
    if (!keep_psc) {
        unsigned stage =
            v->xlate == VTD_XLATE_SECOND ? VTD_STAGE_2 : VTD_STAGE_1;
        size_t n = 0;
        /* psc[i]: level 5 - i alone (unrolled: each level a constant) */
#pragma GCC unroll 4
        for (unsigned i = 0; i < 4; i++) {
            cache_t *c = v->psc[i];
            const unsigned l = 5u - i, shift = PT_PAGE_SHIFT + 9u * (l - 1u);
            if (!inval_visits(c))
                continue;
            const cache_range_t r = {VTD_TAG(did, pasid, l, stage),
                                     m->lo >> shift, (m->hi - 1) >> shift};
            n += cache_invalidate_ranges(c, &r, 1);
        }
        st[IOSIM_ST_PSC_INVAL_ENTRIES] += n;
        v->psc_drops++;
    }
    return true;
}

static void inval_iotlb(vtd_t *v, const vtd_desc_t *d)
{
    inval_match_t m = {0};
    uint64_t *st = v->st;
    bool keep_psc = false;
    if (d->gran == IOSIM_GRAN_GLOBAL) {
        st[IOSIM_ST_IQ_DESC_IOTLB_GLOBAL]++;
    } else if (d->gran == IOSIM_GRAN_DOMAIN ||
               (d->type == IOSIM_DESC_PIOTLB && d->gran == 2)) {
        st[IOSIM_ST_IQ_DESC_IOTLB_DSI]++;
        m.by_did = true;
        m.did = d->did;
        if (d->type == IOSIM_DESC_PIOTLB) {
            m.by_pasid = true;
            m.pasid = d->pasid;
        }
    } else {
        st[IOSIM_ST_IQ_DESC_IOTLB_PSI]++;
        m.by_did = true;
        m.did = d->did;
        m.by_range = true;
        /* AM >= 52 (Linux's MAX_AGAW_PFN_WIDTH "everything" mask) spans
         * the whole address space; 4096 << 52 would wrap to 0 and match
         * nothing. */
        if (d->am >= 52) {
            m.lo = 0;
            m.hi = UINT64_MAX;
        } else {
            m.lo = d->addr & ~((4096ull << d->am) - 1);
            m.hi = m.lo + (4096ull << d->am);
        }
        if (d->type == IOSIM_DESC_PIOTLB) {
            m.by_pasid = true;
            m.pasid = d->pasid;
        }
        /* Spec §6.5.2.3: IH=1 means only leaf entries changed, so the
         * paging-structure caches may be preserved. */
        keep_psc = d->ih && v->cfg->vtd.honour_ih;
        if (d->did != VTD_HOST_S2_DID && inval_psi(v, &m, keep_psc))
            return;
    }
    /* IOTLB entries: 4 KB, 2 MB or 1 GB (levels 1-3), stage field 0.
     * vtd.psi_iotlb_scope widens what a PSI that drops PSC entries (IH=0)
     * takes from the IOTLB: the 2 MB regions it touches, or the domain. */
    inval_match_t im = m; /* (only where the scope widens it) */
    const inval_match_t *ip = &m;
    if (m.by_range && v->iotlb_scope == IOTLB_SCOPE_QEMU_MASK8) {
        /* QEMU ignores IH for its IOTLB (vtd_process_iotlb_desc) */
        unsigned am = d->am > 63 ? 63 : d->am;
        qemu_psi_t q = {.did = d->did,
                        .by_pasid = m.by_pasid,
                        .pasid = m.pasid,
                        .addr = d->addr,
                        .mask8 = (uint8_t) ~((1ull << am) - 1)};
        st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +=
            cache_invalidate_if(v->iotlb, match_qemu_psi, &q);
    } else if (m.by_range && !keep_psc && v->iotlb_scope != IOTLB_SCOPE_PAGE) {
        const uint64_t pde_span = pt_level_span(2); /* 2 MB */
        ip = &im;
        if (v->iotlb_scope == IOTLB_SCOPE_DOMAIN) {
            im.by_range = false;
        } else if (v->iotlb_scope == IOTLB_SCOPE_PDE && im.hi != UINT64_MAX) {
            im.lo &= ~(pde_span - 1);
            im.hi = (im.hi + pde_span - 1) & ~(pde_span - 1);
        }
    }
    if (!ip->by_range || v->iotlb_scope != IOTLB_SCOPE_QEMU_MASK8)
        st[IOSIM_ST_IOTLB_INVAL_ENTRIES] +=
            inval_lines(v, v->iotlb, ip, iotlb_levels(v, m.did), 0);
    if (!keep_psc) {
        /* vtd.psi_psc_scope=domain: the part drops every PSC entry of the
         * domain on a PSI, not only those covering the range */
        inval_match_t pm = m;
        if (v->psc_scope_domain)
            pm.by_range = false;
        st[IOSIM_ST_PSC_INVAL_ENTRIES] +=
            inval_pscs(v, v->psc_scope_domain ? &pm : &m);
        v->psc_drops++;
    }
    /* A global one, or one naming the host's second-stage domain, also
     * drops the nested second-stage structures. */
    if (d->gran == IOSIM_GRAN_GLOBAL || d->did == VTD_HOST_S2_DID) {
        cache_flush(v->s2_tlb);
        for (int i = 0; i < 4; i++)
            cache_flush(v->s2_psc[i]);
    }
}

uint64_t vtd_psc_drops(const vtd_t *v) { return v->psc_drops; }

void vtd_discard_fill(vtd_t *v, uint16_t did, uint64_t iova)
{
    inval_match_t m = {
        .by_did = true, .did = did, .by_range = true, .lo = iova & ~0xfffull};
    m.hi = m.lo + 4096;
    inval_lines(v, v->iotlb, &m, iotlb_levels(v, did), 0);
}

static void inval_devtlb(vtd_t *v, const vtd_desc_t *d)
{
    inval_match_t m = {0};
    m.by_did = true; /* devTLB tags carry the SID in the DID field */
    m.did = d->sid;
    if (d->type == IOSIM_DESC_PDEVTLB) {
        m.by_pasid = true;
        m.pasid = d->pasid;
    }
    if (d->am < 52 && d->gran != IOSIM_GRAN_GLOBAL) {
        m.by_range = true;
        m.lo = d->addr & ~((4096ull << d->am) - 1);
        m.hi = m.lo + (4096ull << d->am);
    }
    inval_lines(v, v->devtlb, &m, 1u, 0); /* 4 KB entries */
}

static bool match_ctx(cache_key_t k, uint64_t val, void *arg)
{
    const vtd_desc_t *d = arg;
    if (d->gran == IOSIM_GRAN_GLOBAL)
        return true;
    if (d->gran == IOSIM_GRAN_DOMAIN)
        return val == d->did;
    return k.addr == d->sid;
}

static bool match_pasid_entry(cache_key_t k, uint64_t val, void *arg)
{
    const vtd_desc_t *d = arg;
    (void)val;
    if (d->gran == IOSIM_GRAN_PAGE) /* global (3) */
        return true;
    if (TAG_DID(k.tag) != d->did)
        return false;
    return d->gran == 0 || k.addr == d->pasid; /* 0: all PASIDs of DID */
}

/* One submission of n descriptors (at most vtd.iq_batch_max) and the
 * implicit wait: the queue's time, a sum over the descriptors' kinds
 * (vtd.iq_*_ns) that depends on nothing else.  caches (a constant): the
 * descriptors' invalidations done and counted; without, only timed
 * (vtd_as_front) — the same sums in the same order. */
static inline __attribute__((always_inline)) double
submit_one(vtd_t *v, const vtd_desc_t *d, size_t n, const bool caches)
{
    const iosim_config_t *cfg = v->cfg;
    uint64_t *st = v->st;
    double ns = 0;
    if (caches)
        st[IOSIM_ST_IQ_SUBMITS]++;
    /* processing time per descriptor kind (vtd.iq_*_ns) */
    for (size_t i = 0; i < n; i++) {
        switch (d[i].type) {
        case IOSIM_DESC_IOTLB:
        case IOSIM_DESC_PIOTLB:
            ns += cfg->vtd.iq_desc_ns;
            if (caches) {
                st[IOSIM_ST_IQ_DESC_IOTLB]++;
                inval_iotlb(v, &d[i]);
            }
            break;
        case IOSIM_DESC_DEVTLB:
        case IOSIM_DESC_PDEVTLB:
            ns += cfg->vtd.iq_desc_ns + cfg->vtd.iq_devtlb_ns;
            if (caches) {
                st[IOSIM_ST_IQ_DESC_DEVTLB]++;
                inval_devtlb(v, &d[i]);
            }
            break;
        case IOSIM_DESC_CC:
            ns += cfg->vtd.iq_cc_ns;
            if (caches) {
                st[IOSIM_ST_IQ_DESC_CC]++;
                cache_invalidate_if(v->ctx, match_ctx, (void *)&d[i]);
            }
            break;
        case IOSIM_DESC_PC:
            ns += cfg->vtd.iq_pc_ns;
            if (caches) {
                st[IOSIM_ST_IQ_DESC_PC]++;
                cache_invalidate_if(v->pasid, match_pasid_entry, (void *)&d[i]);
            }
            break;
        case IOSIM_DESC_WAIT: /* an explicit wait in the submission */
            ns += cfg->vtd.iq_wait_ns;
            if (caches)
                st[IOSIM_ST_IQ_DESC_WAIT]++;
            break;
        default:
            ns += cfg->vtd.iq_iec_ns;
            if (caches)
                st[IOSIM_ST_IQ_DESC_OTHER]++;
            break;
        }
    }
    /* the wait descriptor qi_submit_sync() appends (MODEL.md §1.7) */
    ns += cfg->vtd.iq_wait_ns;
    if (caches) {
        st[IOSIM_ST_IQ_DESC_WAIT]++;
        st[IOSIM_ST_IQ_NS] += (uint64_t)(ns + 0.5);
    }
    return ns;
}

/* vtd_submit's submissions of at most max descriptors each (caches: as
 * submit_one's). */
static inline __attribute__((always_inline)) double
submit_all(vtd_t *v, const vtd_desc_t *d, size_t n, uint32_t max,
           const bool caches)
{
    double ns = 0;
    size_t i = 0;
    do {
        size_t k = n - i < max ? n - i : max;
        ns += submit_one(v, d + i, k, caches);
        i += k;
    } while (i < n);
    return ns;
}

/* A front's submission (vtd_as_front): only timed.  (noipa: GCC's clone
 * of it taking v->cfg had that load hoisted onto vtd_submit's own path,
 * one instruction a submission of every other sim.) */
static __attribute__((noipa)) double submit_timed(vtd_t *v, const vtd_desc_t *d,
                                                  size_t n)
{
    uint32_t max = v->cfg->vtd.iq_batch_max;
    return submit_all(v, d, n, max ? max : 1, false);
}

double vtd_submit(vtd_t *v, const vtd_desc_t *d, size_t n)
{
    /* A submission longer than the queue takes at once (vtd.iq_batch_max)
     * goes as several, each with its own wait, as qi_submit_sync() needs
     * count + 2 free slots of QI_LENGTH (MODEL.md §1.7). */
    uint32_t max = v->iq_max;
    if (!max)
        return submit_timed(v, d, n);
    return submit_all(v, d, n, max, true);
}

void vtd_psi_range(uint64_t start, uint64_t size, uint64_t *addr, uint8_t *am)
{
    /* MODEL.md §1.6.2: calculate_psi_aligned_address() */
    uint64_t pfn = start >> 12;
    uint64_t end_pfn = (start + (size ? size : 1) - 1) >> 12;
    uint64_t pages = end_pfn - pfn + 1;
    unsigned mask = 0;
    while ((1ull << mask) < pages)
        mask++;
    uint64_t aligned = 1ull << mask;
    if (pfn & (aligned - 1)) {
        uint64_t shared = ~(pfn ^ end_pfn) & ~(aligned - 1);
        mask = shared ? (unsigned)__builtin_ctzll(shared) : 52u;
    }
    if (mask > 52)
        mask = 52;
    *am = (uint8_t)mask;
    *addr = mask >= 52 ? 0 : (start & ~((4096ull << mask) - 1));
}
