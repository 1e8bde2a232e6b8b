/* vtd_quick.h — the plain translation's quick path, inline for the
 * replay's record loop, and the model's state it reads.
 *
 * Concepts: vtd_translate_quick is vtd_translate_brief where
 *   vtd_plain_brief_ok holds (vtd.h); it answers the plain copy's usual
 *   requests itself, here, so that the record loop (sim.c) runs them
 *   without a call, and passes the rest to vtd_translate_plain_slow
 *   (vtd.c: the plain copy).  Only vtd.c, that loop and test_fast_path
 *   include this header; everything else sees vtd_t through vtd.h.
 */
#ifndef IOSIM_VTD_QUICK_H
#define IOSIM_VTD_QUICK_H

#include "base/sparse16.h"
#include "cache/allassoc.h"
#include "stats/stat_list.h"
#include "vtd/vtd.h"

/* PCI source ids (16-bit requester ids) */
#define VTD_SIDS 65536u

/* Cache tag layout: did 16 | pasid 20 | level 3 | stage 2. */
// clang-format off
#define VTD_TAG(did, pasid, level, stage)                                      \
    ((uint64_t)(did) | ((uint64_t)(pasid) << 16) |                             \
     ((uint64_t)(level) << 36) | ((uint64_t)(stage) << 39))
// clang-format on

enum { VTD_STAGE_1 = 1, VTD_STAGE_2 = 2 };

typedef struct vtd_domain {
    pgtable_t pt; /* single-stage table, or the guest first stage */
    /* bit L-1 set by every IOTLB fill of a level-L entry of the domain
     * (walk_fill, vtd_translate_quick), never cleared: the IOTLB holds
     * no entry of the domain of a level whose bit is clear (translate
     * probes, and inval_lines removes, only the levels set) */
    uint8_t leaf_sizes;
} vtd_domain_t;

struct vtd {
    const iosim_config_t *cfg;
    uint64_t *st;
    vtd_xlate_t xlate;
    bool scalable;
    physmem_t host_mem;  /* host-physical table pages          */
    physmem_t guest_mem; /* nested: guest-physical table pages */
    sparse16_t dom;      /* DID -> vtd_domain_t * */
    pgtable_t s2;        /* nested: host second stage of the VM */
    bool s2_ready;
    cache_t *iotlb, *ctx, *pasid, *devtlb, *s2_tlb;
    cache_t *psc[4], *s2_psc[4]; /* [0]=PML5E [1]=PML4E [2]=PDPTE [3]=PDE */
    double ref_ns;
    bool psc_scope_domain; /* vtd.psi_psc_scope == "domain" */
    uint64_t psc_drops;    /* invalidations that dropped PSC entries */
    enum {
        IOTLB_SCOPE_PAGE,
        IOTLB_SCOPE_PDE,
        IOTLB_SCOPE_DOMAIN,
        IOTLB_SCOPE_QEMU_MASK8
    } iotlb_scope; /* vtd.psi_iotlb_scope */
    /* hit_ns of each cache, 0 when it is disabled (fixed at vtd_new) */
    double iotlb_ns, ctx_ns, pasid_ns, s2_tlb_ns, psc_ns[4], s2_psc_ns[4];
    /* vtd_translate_quick's latencies, translate's sums made once (fixed
     * at vtd_new): an IOTLB hit's (context cache, IOTLB) and a walk's
     * after a PDE-cache hit (those, the PDE cache, one read) */
    double quick_hit_ns, quick_walk_ns;
    /* OR of every PASID a request carried: 0 means every cache tag holds
     * PASID 0 (lets an invalidation probe keys instead of scanning) */
    uint32_t pasids_used;
    uint64_t mapped_4k_total; /* live 4 KB mappings, all domains */
    /* a table page could not be allocated, also where no caller sees
     * an error (host backing made during a translation) */
    bool out_of_memory;
    bool ats; /* vtd.ats and the device-TLB is enabled */
    /* second-stage translation in legacy mode without a device-TLB: no
     * PASID, device-TLB, passthrough or nested step (vtd_translate's
     * plain copy) */
    bool plain;
    /* requests vtd_translate_plain_brief's quick path left to translate
     * (tests: it answered the others) */
    uint64_t quick_bails;
    /* vtd_set_shortcuts off: an invalidation tests every line of a
     * cache (match_line), the plain path inval_lines' probes are
     * compared with */
    bool inval_scan;
    /* the quick path's last domain (a domain, once made, stays) */
    uint16_t quick_did;
    vtd_domain_t *quick_dom;
    /* context entries: source id -> DID, VTD_SIDS of them (zmem_alloc:
     * a sim touches a page or two of its 128 KB) */
    uint16_t *sid_did;
    /* vtd_submit's submissions at most (vtd.iq_batch_max, 0 taken as 1),
     * or 0 for a front's model (vtd_as_front): only timed */
    uint32_t iq_max;
};

/* psc index of the cache holding entries of `level` (5..2). */
static inline unsigned vtd_psc_slot(unsigned level) { return 5u - level; }

static inline vtd_domain_t *vtd_domain_find(const vtd_t *v, uint16_t did)
{
    return (vtd_domain_t *)sparse16_get(&v->dom, did);
}

/* vtd_translate_quick's walk where its own steps do not apply (a memo or
 * PDE-cache miss): translate's steps after the IOTLB missed (vtd.c). */
vtd_xlate_brief_t vtd_quick_walk(vtd_t *v, vtd_domain_t *d, uint16_t did,
                                 uint32_t pasid, uint64_t iova, uint32_t set1);

/* vtd_quick_walk for an IOTLB with a shadow (vtd_quick_sh_ok): the fill
 * goes through cache_insert, which tells the shadow. */
vtd_xlate_brief_t vtd_quick_walk_sh(vtd_t *v, vtd_domain_t *d, uint16_t did,
                                    uint32_t pasid, uint64_t iova);
/* translate's check after an IOTLB hit at level lvl of a shadowed IOTLB
 * (a geometry that missed would fill the same key: allassoc.h). */
void vtd_quick_sh_check(vtd_t *v, const vtd_domain_t *d, uint64_t iova,
                        unsigned lvl);

/* vtd_translate_plain_brief where vtd_translate_quick cannot answer. */
vtd_xlate_brief_t vtd_translate_plain_slow(vtd_t *v, uint16_t sid,
                                           uint32_t pasid, uint16_t did,
                                           uint64_t iova);

/* What vtd_translate_quick keeps for its caller across a run of requests:
 *   - the counters its own answers add one to (in registers or the
 *     caller's frame, where the counter stores would make it reload what
 *     they might alias), added to the counters by vtd_quick_count before
 *     anything reads them;
 *   - a memo of what the last request found that still holds as long as
 *     nothing but the quick path's own steps ran since (the caller calls
 *     vtd_quick_forget after anything else that might touch the model;
 *     the quick path forgets before it hands a request to translate, and
 *     after vtd_quick_walk, which touches no context entry, only the
 *     region and whether the domain's leaves are all 4 KB): the request's
 *     key (source id, DID, PASID), whose context entry is the context
 *     cache's MRU line (its probe would hit that line and change
 *     nothing), whose domain is d, whose tag (DID, PASID) is tag0 and whose
 *     PASID is in pasids_used; and, where the domain's only leaves are 4 KB
 * (small: leaf_sizes 1, so no larger IOTLB probes and the fill's |= 1 changes
 *     nothing), a 2 MB region whose PDE-cache entry (the key's) is the
 *     PDE cache's MRU line (its probe would hit it and change nothing)
 *     and whose level-1 table is table (no table changes within a run:
 *     maps and unmaps are the plain path's).  test_fast_path compares
 *     runs of requests that keep and break these with the plain copy. */
typedef struct vtd_quick_run {
    uint64_t hits;      /* IOTLB hits: iotlb.lookups, iotlb.hits */
    uint64_t walks;     /* PDE-cache hits and their one read: iotlb.lookups,
                           .misses, walks, walk reads (level 1, all, stage 2) */
    uint64_t evictions; /* their fills' evictions: iotlb.evictions */
    uint64_t key;       /* vtd_quick_key of the request's source id, PASID
                           and DID (0 too); valid only where d is not NULL */
    vtd_domain_t *d;    /* key's domain; NULL: no memo */
    uint64_t region;    /* iova >> 21; UINT64_MAX: none (above any iova's) */
    const pt_node_t *table; /* region's level-1 table */
    uint64_t tag0; /* VTD_TAG(DID, PASID, 0, 0), the DID the source id's
                      where the request's is 0 */
    uint64_t th1;  /* cache_tag_hash of the 4 KB IOTLB key's tag */
    bool small;    /* d->leaf_sizes is 1 (4 KB leaves only) */
} vtd_quick_run_t;

/* The memo's key of a request (any one-to-one packing would do; this one
 * is the record's 8 bytes from its PASID on, little-endian: sim.c loads
 * it whole). */
static inline uint64_t vtd_quick_key(uint16_t sid, uint32_t pasid, uint16_t did)
{
    return (uint64_t)pasid | (uint64_t)sid << 32 | (uint64_t)did << 48;
}
static inline uint16_t vtd_quick_key_sid(uint64_t key)
{
    return (uint16_t)(key >> 32);
}
static inline uint32_t vtd_quick_key_pasid(uint64_t key)
{
    return (uint32_t)key;
}
static inline uint16_t vtd_quick_key_did(uint64_t key)
{
    return (uint16_t)(key >> 48);
}

/* A run's start: no counts, no memo. */
#define VTD_QUICK_RUN_INIT                                                     \
    {                                                                          \
        0, 0, 0, 0, NULL, UINT64_MAX, NULL, 0, 0, false                        \
    }

/* Something other than the quick path may have touched the model. */
static inline void vtd_quick_forget(vtd_quick_run_t *c) { c->d = NULL; }

static inline void vtd_quick_count(vtd_t *v, vtd_quick_run_t *c)
{
    uint64_t *st = v->st;
    st[IOSIM_ST_IOTLB_LOOKUPS] += c->hits + c->walks;
    st[IOSIM_ST_IOTLB_HITS] += c->hits;
    st[IOSIM_ST_IOTLB_MISSES] += c->walks;
    st[IOSIM_ST_WALKS] += c->walks;
    st[IOSIM_ST_WALK_READS_L1] += c->walks;
    st[IOSIM_ST_WALK_READS] += c->walks;
    st[IOSIM_ST_WALK_READS_S2] += c->walks;
    st[IOSIM_ST_IOTLB_EVICTIONS] += c->evictions;
    c->hits = c->walks = c->evictions = 0;
}

/* The plain copy's usual requests, answered with few live values (no
 * calls, so little to keep in registers): the context entry on the
 * context cache's MRU line, a domain whose page is in the leaf-table memo
 * (a 4 KB leaf or none), an IOTLB hit at a level the domain has used or,
 * after the IOTLB missed, a PDE-cache hit (one read, the leaf's), with
 * LRU caches on their inline path.  It makes translate's steps in the same
 * order (the latency's sum too) and leaves every cache as translate
 * would; where anything else would happen it stops, before it has changed
 * anything (a probe that missed noted nothing, cache_lru_probe), and
 * translate does the request (vtd_translate_plain_slow) — except after
 * the IOTLB missed: a walk it cannot make itself (outside the memo, a
 * PDE-cache miss) is translate's from there on (vtd_quick_walk), so the
 * probes are not made twice.  Where the run's memo (vtd_quick_run_t)
 * knows the request's key, the context-cache probe and the domain's
 * checks are skipped, and where it knows the region too, the PDE-cache
 * probe and the leaf-table memo's: each would find what the memo says
 * and change nothing.  test_fast_path compares it with the general
 * copy. */
static inline __attribute__((always_inline)) vtd_xlate_brief_t
vtd_quick_tail(vtd_t *v, vtd_domain_t *d, uint64_t tag0, uint64_t th1,
               uint64_t iova, uint32_t tw, bool small, vtd_quick_run_t *c,
               const bool sh, bool *bail);

/* (sh: the IOTLB has a shadow, vtd_translate_quick_sh) */
static inline __attribute__((always_inline)) vtd_xlate_brief_t
vtd_quick_body(vtd_t *v, uint64_t key, uint64_t iova, uint32_t tw,
               vtd_quick_run_t *c, const bool sh)
{
    if (key == c->key && c->d) { /* the memo's */
        if (c->small)
            return vtd_quick_tail(v, c->d, c->tag0, c->th1, iova, tw, true, c,
                                  sh, NULL);
    } else {
        /* (taken apart here: a caller's loads of the three would be made
         * and kept for every request) */
        const uint16_t sid = vtd_quick_key_sid(key);
        const uint32_t pasid = vtd_quick_key_pasid(key);
        uint16_t did = vtd_quick_key_did(key);
        if (did == 0)
            did = v->sid_did[sid];
        cache_t *ctx = v->ctx;
        vtd_domain_t *d = v->quick_dom;
        if (did != v->quick_did || !d) {
            d = vtd_domain_find(v, did);
            v->quick_did = did;
            v->quick_dom = d;
        }
        uint32_t set;
        /* (a hit that moved its line first is one translate's lookup
         * repeats on the MRU line without a change, should the request
         * still go to translate below) */
        if (!ctx->lru_inline ||
            !(sh ? cache_lru_able(v->iotlb) : v->iotlb->lru_inline) || !d ||
            !cache_lru_probe(ctx, sid, 0, NULL, &set)) {
            vtd_quick_forget(c);
            return sh ? vtd_translate_brief(v, sid, pasid, did, iova, false)
                      : vtd_translate_plain_slow(v, sid, pasid, did, iova);
        }
        v->pasids_used |= pasid; /* as translate does (idempotent) */
        c->key = key;
        c->d = d;
        c->tag0 = VTD_TAG(did, pasid, 0, 0);
        c->th1 = cache_tag_hash(c->tag0 | VTD_TAG(0, 0, 1, 0));
        c->small = (d->leaf_sizes & 7u) == 1u;
        c->region = UINT64_MAX;
    }
    /* (after the context's probe, small or not: the region comes next) */
    return vtd_quick_tail(v, c->d, c->tag0, c->th1, iova, tw, false, c, sh,
                          NULL);
}

/* vtd_quick_body's steps after the context entry: the IOTLB's probes and
 * the walk; small: c->small, as a constant.  bail (NULL but from a
 * caller's loop without calls, sim.c sim_fast_tight, whose values then
 * stay in registers; with small): where an IOTLB miss would need the
 * PDE cache (the request outside the memo's region), *bail is set and
 * nothing has changed (the probe that missed noted nothing), for
 * vtd_translate_quick to do the request. */
static inline __attribute__((always_inline)) vtd_xlate_brief_t
vtd_quick_tail(vtd_t *v, vtd_domain_t *d, uint64_t tag0, uint64_t th1,
               uint64_t iova, uint32_t tw, bool small, vtd_quick_run_t *c,
               const bool sh, bool *bail)
{
    cache_t *tlb = v->iotlb;
    /* IOTLB: each page size the domain has used, 4 KB first (sh: each
     * probe told to the shadow, as cache_lookup_slow tells it) */
    const uint64_t addr1 = iova >> PT_PAGE_SHIFT,
                   tag1 = tag0 | VTD_TAG(0, 0, 1, 0);
    uint32_t set1;
    bool hit = cache_lru_probe_wh(tlb, tw, addr1, tag1, th1, NULL, &set1);
    if (sh)
        allassoc_lookup(cache_shadow(tlb), addr1, tag1, hit);
    unsigned hit_lvl = 1; /* (sh only) */
    for (unsigned bits = small ? 0u : d->leaf_sizes & 6u; !hit && bits;
         bits &= bits - 1) {
        unsigned lvl = (unsigned)__builtin_ctz(bits) + 1u;
        uint32_t set;
        hit = cache_lru_probe_w(tlb, tw,
                                iova >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                                tag0 | VTD_TAG(0, 0, lvl, 0), NULL, &set);
        if (sh) {
            allassoc_lookup(cache_shadow(tlb),
                            iova >> (PT_PAGE_SHIFT + 9u * (lvl - 1u)),
                            tag0 | VTD_TAG(0, 0, lvl, 0), hit);
            hit_lvl = lvl;
        }
    }
    if (hit) {
        if (sh)
            vtd_quick_sh_check(v, d, iova, hit_lvl);
        c->hits++;
        return (vtd_xlate_brief_t){v->quick_hit_ns, 0, false, true};
    }
    /* the walk: the memo's level-1 table gives the leaf (4 KB) or the
     * fault (level 1); the PDE cache gives that table's address (loaded
     * here, not kept from the start: fewer values to hold) */
    const uint64_t region = iova >> PT_MEMO_REGION_SHIFT;
    const pt_node_t *table = c->table;
    if (bail && region != c->region) { /* (small: its caller checked) */
        *bail = true;
        return (vtd_xlate_brief_t){0, 0, false, false};
    }
    if (!small || region != c->region) {
        cache_t *pde = v->psc[vtd_psc_slot(2)];
        const pt_memo_ent_t *m;
        uint32_t set2;
        if (!pde->lru_inline || !(m = pgtable_memo_ent(&d->pt, iova)) ||
            !cache_lru_probe(pde, region, tag0 | VTD_TAG(0, 0, 2, VTD_STAGE_2),
                             NULL, &set2)) {
            /* the walk fills the PSCs (another PDE entry the MRU line)
             * and may find a larger leaf; it touches no context entry */
            vtd_xlate_brief_t x =
                sh ? vtd_quick_walk_sh(v, d, (uint16_t)tag0,
                                       (uint32_t)(tag0 >> 16), iova)
                   : vtd_quick_walk(v, d, (uint16_t)tag0,
                                    (uint32_t)(tag0 >> 16), iova, set1);
            c->region = UINT64_MAX;
            c->small = (d->leaf_sizes & 7u) == 1u;
            return x;
        }
        table = m->table;
        c->region = region;
        c->table = table;
    }
    uint64_t e = table->ent[(iova >> PT_PAGE_SHIFT) & 511u];
    bool mapped = (e & PT_ENT_PRESENT) != 0;
    c->walks++;
    if (mapped) {
        /* the key translate fills: the probe of level 1 missed it */
        if (!small) {
            d->leaf_sizes |= 1u;
            c->small = (d->leaf_sizes & 7u) == 1u;
        }
        if (sh) /* as cache_insert_kv tells it */
            allassoc_insert(cache_shadow(tlb), addr1, tag1);
        if (cache_lru_fill_w(tlb, tw, set1, addr1, tag1, e & ~0xfffull))
            c->evictions++;
    }
    return (vtd_xlate_brief_t){v->quick_walk_ns, 1, !mapped, true};
}

/* vtd_translate_quick's tw: the IOTLB's ways (fixed once v is made, so a
 * caller of many requests reads it once) */
static inline uint32_t vtd_quick_ways(const vtd_t *v) { return v->iotlb->ways; }

/* The IOTLB of configs/vtd.yaml (HyperSIO's) has 8 ways: a copy where that
 * is a constant (a shift for a set's first line, one 8-way compare and no
 * loop, the victim's nibble at a fixed place); any other IOTLB takes the
 * copy that reads it.  (tw: vtd_quick_ways(v).) */
static inline __attribute__((always_inline)) vtd_xlate_brief_t
vtd_translate_quick(vtd_t *v, uint64_t key, uint64_t iova, uint32_t tw,
                    vtd_quick_run_t *c)
{
    return tw == 8 ? vtd_quick_body(v, key, iova, 8, c, false)
                   : vtd_quick_body(v, key, iova, tw, c, false);
}

/* vtd_translate_quick where vtd_quick_sh_ok holds: an IOTLB with an
 * all-associativity shadow (a sweep's leader, sweep/share.c), told of
 * every probe and fill as cache.c's generic code tells it, and translate's
 * check of each hit; the other caches as vtd_translate_quick leaves them
 * (a shadowed PSC takes translate's walk).  Out of line (vtd_quick_sh.c):
 * the replay's loops that inline vtd_translate_quick stay as they were.
 * test_fast_path compares it with the general copy, shadows included. */
vtd_xlate_brief_t vtd_translate_quick_sh(vtd_t *v, uint64_t key, uint64_t iova,
                                         vtd_quick_run_t *c);

#endif /* IOSIM_VTD_QUICK_H */
