/* test_schemes.c — alternative DMA-protection schemes and the
 * reallocating IOVA mode, run on small hand-written traces.
 *
 * Concepts: each case builds records in C, runs them through
 *   iosim_sim_new/consume/finish and checks counters against what the
 *   scheme's definition implies (its header comment), computed by hand
 *   in the comment next to each assertion.
 * Assumptions: default configuration except the --set lines shown; the
 *   access model synthesizes one 4 KB access per page just before each
 *   unmap unless a case says the trace carries DMA records.
 * Not modeled: hypervisor modes (bare metal only).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iosim.h"
#include "test_util.h"

#define DID 1
#define SID 0x100
#define MAX_RECS 512
#define MAP_CYCLES 1158.0 /* os.map_cycles default (params_os.c) */

typedef struct trace {
    iosim_rec_t r[MAX_RECS];
    size_t n;
    uint64_t t;
} trace_t;

static void add(trace_t *tr, uint8_t kind, uint64_t iova, uint64_t size,
                uint64_t aux, uint8_t flags)
{
    assert_true(tr->n < MAX_RECS);
    iosim_rec_t *r = &tr->r[tr->n++];
    memset(r, 0, sizeof *r);
    tr->t += 1000; /* 1 us apart */
    r->t = tr->t;
    r->kind = kind;
    r->iova = iova;
    r->size = size;
    r->aux = aux;
    r->device = SID;
    r->domain = DID;
    r->flags = flags;
}

static void map(trace_t *tr, uint64_t iova, uint64_t phys, uint64_t size)
{
    add(tr, IOSIM_REC_MAP, iova, size, phys,
        IOSIM_PROT_READ | IOSIM_PROT_WRITE);
}
static void unmap(trace_t *tr, uint64_t iova, uint64_t size)
{
    add(tr, IOSIM_REC_UNMAP, iova, size, 0, 0);
}
static void dma(trace_t *tr, uint64_t iova, uint64_t size)
{
    add(tr, IOSIM_REC_DMA, iova, size, 0, IOSIM_DMA_WRITE);
}
static void mark_at(trace_t *tr, uint64_t t)
{
    add(tr, IOSIM_REC_MARK, 0, 0, 0, IOSIM_MARK_REQUEST);
    tr->r[tr->n - 1].t = tr->t = t;
}

/* Runs tr with policy and extra "--set" assignments (NULL-ended). */
static iosim_sim_t *run(const trace_t *tr, const char *policy,
                        const char *const *sets, bool has_dma)
{
    char buf[128];
    snprintf(buf, sizeof buf, "os.policy=%s", policy);
    const char *const base[] = {buf, NULL};
    iosim_trace_meta_t meta = {.cpus = 1, .has_dma = has_dma};
    iosim_sim_t *s = sim_from_set_lists(base, sets, &meta);
    sim_run(s, tr->r, tr->n);
    return s;
}

/* 64 rx pages mapped then unmapped on one CPU: at distinct, scattered
 * trace IOVAs (Linux's rcache would hand them out anywhere). */
static void rx_descriptor(trace_t *tr)
{
    for (uint64_t i = 0; i < 64; i++)
        map(tr, 0x40000000ull + i * 0x3000, 0x100000000ull + i * 0x1000, 4096);
    for (uint64_t i = 0; i < 64; i++)
        unmap(tr, 0x40000000ull + i * 0x3000, 4096);
}

/* F&S: the 64 pages form one descriptor = one 256 KB chunk; the only
 * invalidation is one PSI with AM = log2(64) = 6 covering it, with IH=1
 * (4 KB unmaps never free a table page).  Checks: 1 PSI and no other IOTLB
 * descriptor; it removed all 64 IOTLB entries the 64 synthesized accesses
 * loaded (an AM < 6 would cover fewer); no PSC entry was dropped (IH=1,
 * vtd.honour_ih); PSC misses only on the first (cold) walk: the chunk is
 * 256 KB-aligned, inside one 2 MB region, so walks 2..64 hit the PDE
 * cache; one IOVA allocation (the chunk). */
static void test_fands_one_psi(void **st)
{
    (void)st;
    trace_t tr = {0};
    rx_descriptor(&tr);
    const char *sets[] = {"vtd.iotlb.sets=16", NULL}; /* 128 entries */
    iosim_sim_t *s = run(&tr, "fands", sets, false);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 1);
    assert_int_equal(test_stat(s, "iq.iotlb_desc"), 1);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 1);
    assert_int_equal(test_stat(s, "iotlb.invalidated"), 64);
    assert_int_equal(test_stat(s, "psc.invalidated"), 0);
    assert_int_equal(test_stat(s, "psc.l1_misses"), 1);
    assert_int_equal(test_stat(s, "psc.l2_misses"), 1);
    assert_int_equal(test_stat(s, "psc.l3_misses"), 1);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 1);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    assert_int_equal(test_stat(s, "dma.synthesized"), 64);
    iosim_sim_free(s);

    /* scheme.fands_keep_psc=false (the paper's ablation: contiguous IOVAs
     * + batching without IH): the same single PSI, now with IH=0, so it
     * also drops the PSC entries on the chunk's walk path: one per level
     * (PML4E, PDPTE, PDE: the 64 pages share one 2 MB region), which the
     * default vtd.psi_psc_scope=range selects by overlap with the 256 KB
     * range. */
    const char *sets_ih0[] = {"vtd.iotlb.sets=16",
                              "scheme.fands_keep_psc=false", NULL};
    s = run(&tr, "fands", sets_ih0, false);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 1);
    assert_int_equal(test_stat(s, "iotlb.invalidated"), 64);
    assert_int_equal(test_stat(s, "psc.invalidated"), 3);
    iosim_sim_free(s);

    /* Same trace under strict: one PSI per unmap (MODEL.md §1.8). */
    s = run(&tr, "strict", sets, false);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 64);
    iosim_sim_free(s);

    /* With ATS the chunk's PSI travels with one device-TLB descriptor for
     * the same range, in the same submission; os.strict_batch=1 (Linux
     * before 6.12) submits them one by one. */
    const char *ats[] = {"vtd.iotlb.sets=16", "vtd.ats=true", NULL};
    s = run(&tr, "fands", ats, false);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 1);
    assert_int_equal(test_stat(s, "iq.devtlb_desc"), 1);
    assert_int_equal(test_stat(s, "iq.submits"), 1);
    iosim_sim_free(s);
    const char *ats1[] = {"vtd.iotlb.sets=16", "vtd.ats=true",
                          "os.strict_batch=1", NULL};
    s = run(&tr, "fands", ats1, false);
    assert_int_equal(test_stat(s, "iq.devtlb_desc"), 1);
    assert_int_equal(test_stat(s, "iq.submits"), 2);
    iosim_sim_free(s);

    /* A part whose CAP.MAMV is below the chunk's AM of 6 cannot take the
     * range as a PSI: one domain-selective IOTLB descriptor instead
     * (MODEL.md §1.6.3), which still removes the 64 entries. */
    const char *mamv[] = {"vtd.iotlb.sets=16", "vtd.mamv=5", NULL};
    s = run(&tr, "fands", mamv, false);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 0);
    assert_int_equal(test_stat(s, "iq.iotlb_dsi"), 1);
    assert_int_equal(test_stat(s, "iotlb.invalidated"), 64);
    iosim_sim_free(s);
}

/* F&S descriptors per CPU: 65 rx maps -> chunk 1 full (64) + chunk 2
 * open with 1 page; unmapping all retires only chunk 1 (chunk 2 is not
 * closed) -> exactly 1 invalidation, 2 allocations. */
static void test_fands_open_chunk_waits(void **st)
{
    (void)st;
    trace_t tr = {0};
    for (uint64_t i = 0; i < 65; i++)
        map(&tr, 0x40000000ull + i * 0x1000, 0x100000000ull + i * 0x1000, 4096);
    for (uint64_t i = 0; i < 65; i++)
        unmap(&tr, 0x40000000ull + i * 0x1000, 4096);
    iosim_sim_t *s = run(&tr, "fands", NULL, false);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 1);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 2);
    /* the 65th page's stale window: still mapped? no: its PTE is gone,
     * only its IOTLB entry may remain -> no fault during the run */
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    iosim_sim_free(s);
}

/* Summary, CPU-bound side: the busiest CPU bounds it (iosim.h).  Requests
 * 0-2 are MARKs of cpu 0, request 3 of cpu 1, and the one map + unmap
 * (all IOMMU cycles, whatever they come to) run on cpu 1.  With app = A
 * cycles per request, I = cpu.iommu_cycles and 4 requests:
 *   cpu_ns = max(3A, A + I) / 4 / GHz, baseline = 3A / 4 / GHz (the
 *   CPU side without IOMMU work), cpus = 2;
 * under passthrough (I = 0): max(3A, A) = 3A.  With every record on
 * cpu 0 the single-CPU rule (4A + I) / 4 / GHz must come back. */
static void test_summary_busiest_cpu(void **st)
{
    (void)st;
    const double A = 1000, GHZ = 3.3; /* os.cpu_ghz default */
    for (int spread = 0; spread < 2; spread++) {
        trace_t tr = {0};
        for (int i = 0; i < 4; i++) {
            mark_at(&tr, tr.t + 1000);
            tr.r[tr.n - 1].cpu = (spread && i == 3) ? 1 : 0;
        }
        map(&tr, 0x40000000ull, 0x100000000ull, 4096);
        tr.r[tr.n - 1].cpu = spread;
        unmap(&tr, 0x40000000ull, 4096);
        tr.r[tr.n - 1].cpu = spread;
        const char *sets[] = {"sim.app_cycles_per_request=1000", NULL};
        for (int strict = 0; strict < 2; strict++) {
            iosim_sim_t *s =
                run(&tr, strict ? "strict" : "passthrough", sets, false);
            double I = (double)test_stat(s, "cpu.iommu_cycles");
            /* strict: I > 2A, so cpu 1 (A + I) is the busiest */
            assert_true(strict ? I > 2 * A : I == 0);
            iosim_summary_t o;
            iosim_sim_summary(s, &o);
            double want =
                spread ? fmax(3 * A, A + I) / 4 / GHZ : (4 * A + I) / 4 / GHZ;
            double want0 = (spread ? 3 * A : 4 * A) / 4 / GHZ;
            assert_float_equal(o.cpus, spread ? 2 : 1, 0);
            assert_float_equal(o.cpu_ns, want, 1e-9);
            /* the device side without translation (one 4 KB access
             * = 328 ns of link per 4 requests) is below want0 */
            assert_float_equal(1e9 / o.baseline_rps, want0, 1e-6);
            iosim_sim_free(s);
        }
    }
}

/* static: pages P0, P1.  Maps: P0@A, P0@B, P1@C, P0+P1 (8 KB)@D — each
 * unmapped after use.  First maps of P0 and P1 map them (2 pages, map
 * cycles 2 x 1158); the other two maps only reuse (os.map_reuses 2); no
 * invalidation at all; live mappings peak at 2; every access translates
 * (no faults). */
static void test_static(void **st)
{
    (void)st;
    trace_t tr = {0};
    const uint64_t P0 = 0x200000000ull, P1 = P0 + 0x1000;
    map(&tr, 0xA000, P0, 4096);
    unmap(&tr, 0xA000, 4096);
    map(&tr, 0xB000, P0, 4096);
    unmap(&tr, 0xB000, 4096);
    map(&tr, 0xC000, P1, 4096);
    unmap(&tr, 0xC000, 4096);
    map(&tr, 0xD000, P0, 8192);
    unmap(&tr, 0xD000, 8192);
    iosim_sim_t *s = run(&tr, "static", NULL, false);
    assert_int_equal(test_stat(s, "os.inval_submits"), 0);
    assert_int_equal(test_stat(s, "iq.iotlb_desc"), 0);
    assert_int_equal(test_stat(s, "iq.submits"), 0);
    assert_int_equal(test_stat(s, "pt.mappings_peak"), 2);
    assert_int_equal(test_stat(s, "cpu.map_cycles"),
                     (uint64_t)(2 * MAP_CYCLES));
    assert_int_equal(test_stat(s, "os.map_reuses"), 2);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    /* 5 accesses (1+1+1+2 pages): P0 misses once, P1 once, the rest hit */
    assert_int_equal(test_stat(s, "iotlb.misses"), 2);
    iosim_sim_free(s);
}

/* coiommu with batch 4: 10 map/unmap pairs 1 us apart (all inside the
 * 10 ms timer) -> teardowns after unmap 4 and 8: 2 domain flushes, and
 * 2 <= ceil(10 / 4) = 3.  A record 20 ms later fires the timer for the 2
 * still marked: 3 flushes. */
static void test_coiommu_batches(void **st)
{
    (void)st;
    trace_t tr = {0};
    for (uint64_t i = 0; i < 10; i++) {
        map(&tr, 0x50000000ull + i * 0x1000, 0x300000000ull + i * 0x1000, 4096);
        unmap(&tr, 0x50000000ull + i * 0x1000, 4096);
    }
    const char *sets[] = {"scheme.coiommu_batch=4", NULL};
    iosim_sim_t *s = run(&tr, "coiommu", sets, false);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 2);
    assert_true(test_stat(s, "os.inval_iotlb") <= (10 + 4 - 1) / 4);
    assert_int_equal(test_stat(s, "iq.iotlb_dsi"), 2);
    assert_int_equal(test_stat(s, "iq.iotlb_psi"), 0);
    assert_int_equal(test_stat(s, "os.deferred_teardowns"), 2);
    iosim_sim_free(s);

    mark_at(&tr, tr.t + 20000000ull);
    s = run(&tr, "coiommu", sets, false);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 3);
    assert_int_equal(test_stat(s, "os.deferred_teardowns"), 3);
    iosim_sim_free(s);
}

/* optimistic (window 2 ms): P mapped at A, unmapped, mapped again at B
 * 1 us later -> reuse: 1 map (1158 cycles), 1 IOVA allocation, no
 * invalidation, and B's access reaches the kept mapping (no fault).
 * After the window (a record at +10 ms) the kept mapping is torn down:
 * 1 PSI.  A map of P after that is a fresh map: 2 allocations. */
static void test_optimistic_reuse(void **st)
{
    (void)st;
    trace_t tr = {0};
    const uint64_t P = 0x400000000ull;
    map(&tr, 0xA000, P, 4096);
    unmap(&tr, 0xA000, 4096);
    map(&tr, 0xB000, P, 4096);
    unmap(&tr, 0xB000, 4096);
    iosim_sim_t *s = run(&tr, "optimistic", NULL, false);
    assert_int_equal(test_stat(s, "os.map_reuses"), 1);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 1);
    assert_int_equal(test_stat(s, "cpu.map_cycles"), (uint64_t)MAP_CYCLES);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 0);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    /* the second access hits the IOTLB entry of the first (same IOVA) */
    assert_int_equal(test_stat(s, "iotlb.misses"), 1);
    iosim_sim_free(s);

    mark_at(&tr, tr.t + 10000000ull);
    map(&tr, 0xC000, P, 4096);
    unmap(&tr, 0xC000, 4096);
    s = run(&tr, "optimistic", NULL, false);
    assert_int_equal(test_stat(s, "os.deferred_teardowns"), 1);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 1);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 2);
    assert_int_equal(test_stat(s, "os.map_reuses"), 1);
    iosim_sim_free(s);

    /* quota 1: a second kept mapping pushes the first out at once */
    trace_t q = {0};
    map(&q, 0xA000, P, 4096);
    map(&q, 0xB000, P + 0x1000, 4096);
    unmap(&q, 0xA000, 4096);
    unmap(&q, 0xB000, 4096);
    const char *sets[] = {"scheme.optimistic_quota=1", NULL};
    s = run(&q, "optimistic", sets, false);
    assert_int_equal(test_stat(s, "os.deferred_teardowns"), 1);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 1);
    iosim_sim_free(s);
}

/* vhost-iotlb: 8 one-page maps, then two rounds of DMA records to pages
 * 0..7 in order.  Sorted list, no merge: round 1 access i misses and the
 * walk runs off the end of i entries (sum 0..7 = 28); round 2 access i
 * hits at position i (i + 1 visited, sum 36): 64 visited, 16 lookups, 8
 * misses; cycles 64 x 4 + 8 x 30000 = 240256 (defaults: 4 per entry
 * visited, 30000 per miss).  Tree: ceil(log2(n + 1))
 * with n = 0..7 in round 1 (0+1+2+2+3+3+3+3 = 17) and n = 8 in round 2
 * (8 x 4 = 32): 49.  Merge with contiguous pages: round 1 access i >= 1
 * visits the single merged entry (7), round 2 hits it first (8): 15. */
static void vhost_trace(trace_t *tr, uint64_t stride)
{
    for (uint64_t i = 0; i < 8; i++)
        map(tr, 0x60000000ull + i * stride, 0x500000000ull + i * stride, 4096);
    for (int round = 0; round < 2; round++)
        for (uint64_t i = 0; i < 8; i++)
            dma(tr, 0x60000000ull + i * stride + 64, 64);
    for (uint64_t i = 0; i < 8; i++)
        unmap(tr, 0x60000000ull + i * stride, 4096);
}

static void test_vhost_iotlb(void **st)
{
    (void)st;
    trace_t tr = {0};
    vhost_trace(&tr, 0x2000); /* gaps: never mergeable */
    iosim_sim_t *s = run(&tr, "vhost-iotlb", NULL, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), 16);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 8);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 64);
    assert_int_equal(test_stat(s, "cpu.sw_iotlb_cycles"), 64 * 4 + 8 * 30000);
    assert_int_equal(test_stat(s, "cpu.shadow_cycles"), 0); /* bare metal */
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 8);    /* strict guest */
    iosim_sim_free(s);

    const char *tree[] = {"scheme.vhost_structure=tree", NULL};
    s = run(&tr, "vhost-iotlb", tree, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 49);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 8);
    iosim_sim_free(s);

    trace_t c = {0};
    vhost_trace(&c, 0x1000); /* contiguous in IOVA and phys */
    const char *merge[] = {"scheme.vhost_merge=true", NULL};
    s = run(&c, "vhost-iotlb", merge, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 15);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 8);
    iosim_sim_free(s);

    /* after the unmaps' invalidations the backend holds nothing: a DMA
     * to page 0 misses again and QEMU finds no mapping */
    dma(&tr, 0x60000000ull, 64);
    s = run(&tr, "vhost-iotlb", NULL, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 9);
    iosim_sim_free(s);
}

/* vhost-iotlb's sorted list, by hand from insert_entry() / lookup():
 * a lookup visits the entries up to the hit, or up to the first entry
 * past the address, or all of them (0 when empty).
 * (a) 3 pages contiguous in IOVA and phys, touched 0, 2, 1, then 0, 1, 2.
 *     Merging: p0 [p0]; p2 visits 1, no neighbour -> [p0][p2]; p1 visits
 *     2 and joins both -> one entry [p0..p2]; the 3 hits visit 1 each:
 *     scanned 0+1+2+1+1+1 = 6.  Without merging the 3 hits visit 1, 2, 3:
 *     0+1+2+1+2+3 = 9.
 * (b) merging with the following entry only: p1, then p0 (visits 1) joins
 *     it from below; p0, p1 hit on the one entry: 0+1+1+1 = 3.
 * (c) 2 entries, 3 unrelated pages A, B, C, then C, A, B: inserting C
 *     evicts entry (x % 2) of [A, B] with x one xorshift64 (13, 7, 17)
 *     step from sim.seed 1: x = 1082269761, odd -> B; C and A hit, B
 *     misses: 4 misses. */
static void test_vhost_iotlb_merge_evict(void **st)
{
    (void)st;
    const uint64_t io = 0x60000000ull, ph = 0x700000000ull;
    trace_t a = {0};
    map(&a, io, ph, 0x3000);
    const int order[] = {0, 2, 1, 0, 1, 2};
    for (int k = 0; k < 6; k++)
        dma(&a, io + (uint64_t)order[k] * 0x1000, 64);
    const char *merge[] = {"scheme.vhost_merge=true", NULL};
    iosim_sim_t *s = run(&a, "vhost-iotlb", merge, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), 6);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 3);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 6);
    iosim_sim_free(s);
    s = run(&a, "vhost-iotlb", NULL, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 3);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 9);
    iosim_sim_free(s);

    trace_t b = {0};
    map(&b, io, ph, 0x2000);
    const int order_b[] = {1, 0, 0, 1};
    for (int k = 0; k < 4; k++)
        dma(&b, io + (uint64_t)order_b[k] * 0x1000, 64);
    s = run(&b, "vhost-iotlb", merge, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 2);
    assert_int_equal(test_stat(s, "os.sw_iotlb_scanned"), 3);
    iosim_sim_free(s);

    trace_t c = {0};
    for (uint64_t k = 0; k < 3; k++) /* A, B, C: 2 pages apart, no merging */
        map(&c, io + k * 0x2000, ph + k * 0x2000, 0x1000);
    const int order_c[] = {0, 1, 2, 2, 0, 1};
    for (int k = 0; k < 6; k++)
        dma(&c, io + (uint64_t)order_c[k] * 0x2000, 64);
    const char *small[] = {"scheme.vhost_entries=2", "sim.seed=1", NULL};
    s = run(&c, "vhost-iotlb", small, true);
    assert_int_equal(test_stat(s, "os.sw_iotlb_lookups"), 6);
    assert_int_equal(test_stat(s, "os.sw_iotlb_misses"), 4);
    iosim_sim_free(s);
}

/* os.iova_mode reallocate.  strict: map/unmap twice at different trace
 * IOVAs -> 2 allocations, the second served by the rcache (the first IOVA
 * was freed right after its invalidation); accesses reach the model IOVA
 * (no faults).  lazy: the first IOVA is still queued for the flush when
 * the second map comes -> no rcache hit. */
static void test_reallocate_modes(void **st)
{
    (void)st;
    trace_t tr = {0};
    map(&tr, 0x7000000ull, 0x600000000ull, 4096);
    unmap(&tr, 0x7000000ull, 4096);
    map(&tr, 0x9000000ull, 0x600001000ull, 4096);
    unmap(&tr, 0x9000000ull, 4096);
    const char *sets[] = {"os.iova_mode=reallocate", NULL};
    iosim_sim_t *s = run(&tr, "strict", sets, false);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 2);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 1);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    assert_int_equal(test_stat(s, "os.inval_iotlb"), 2);
    /* same model IOVA reused: the 2nd access misses (entry invalidated) */
    assert_int_equal(test_stat(s, "iotlb.misses"), 2);
    iosim_sim_free(s);

    s = run(&tr, "lazy", sets, false);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 2);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 0);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    iosim_sim_free(s);

    /* replay (default) counts no allocations */
    s = run(&tr, "strict", NULL, false);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 0);
    iosim_sim_free(s);
}

/* The last n records of tr run on cpu. */
static void on_cpu(trace_t *tr, size_t n, uint8_t cpu)
{
    for (size_t i = tr->n - n; i < tr->n; i++)
        tr->r[i].cpu = cpu;
}

/* The first n records of tr (rcache hits seen up to a point). */
static iosim_sim_t *run_first(const trace_t *tr, size_t n,
                              const char *const *sets)
{
    static trace_t head;
    head = *tr;
    head.n = n;
    return run(&head, "lazy", sets, false);
}

/* Lazy mode with os.iova_mode reallocate frees a queued IOVA as Linux's
 * flush queue does (dma-iommu.c queue_iova / fq_ring_free /
 * fq_flush_timeout, MODEL.md §1.4), worked out by hand from that code:
 * os.fq_size 4 leaves 3 usable entries per CPU ring; 4 KB IOVAs live in
 * the 1-page rcache class of the CPU that frees them; 2 CPUs.
 * (a) A full ring on CPU 1 flushes the domain and frees CPU 1's entries,
 *     but CPU 0's flushed IOVA stays on CPU 0's ring until CPU 0 unmaps
 *     again (queue_iova frees its own ring first): CPU 0's next map still
 *     allocates from the tree, the one after its next unmap hits.
 * (b) The timer flushes and frees every CPU's ring into the rcache of the
 *     CPU it runs on, the one whose enqueue armed it (CPU 0): CPU 1 then
 *     finds its rcache empty, CPU 0 gets both IOVAs back. */
static void test_lazy_reallocate_release(void **st)
{
    (void)st;
    const char *sets[] = {"os.iova_mode=reallocate", "os.fq_size=4", NULL};
    trace_t tr = {0};
    map(&tr, 0x10000ull, 0x700000000ull, 4096); /* A */
    unmap(&tr, 0x10000ull, 4096);
    on_cpu(&tr, 2, 0);
    for (uint64_t i = 0; i < 3; i++) /* B, C, D */
        map(&tr, 0x20000ull + i * 0x1000, 0x700010000ull + i * 0x1000, 4096);
    for (uint64_t i = 0; i < 3; i++)
        unmap(&tr, 0x20000ull + i * 0x1000, 4096);
    map(&tr, 0x30000ull, 0x700020000ull, 4096); /* E: its unmap flushes */
    unmap(&tr, 0x30000ull, 4096);
    on_cpu(&tr, 8, 1);
    map(&tr, 0x40000ull, 0x700030000ull, 4096); /* F */
    size_t before_cpu0_unmap = tr.n;
    unmap(&tr, 0x40000ull, 4096);               /* frees A on CPU 0 */
    map(&tr, 0x50000ull, 0x700040000ull, 4096); /* G: gets A */
    on_cpu(&tr, 3, 0);

    iosim_sim_t *s = run_first(&tr, before_cpu0_unmap, sets);
    assert_int_equal(test_stat(s, "os.fq_full_flushes"), 1);
    assert_int_equal(test_stat(s, "os.fq_flushes"), 1);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 6);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 0); /* F: tree */
    iosim_sim_free(s);
    s = run_first(&tr, tr.n, sets);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 7);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 1); /* G */
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    iosim_sim_free(s);

    /* (b) */
    trace_t tt = {0};
    map(&tt, 0x10000ull, 0x700000000ull, 4096); /* A, arms the timer */
    unmap(&tt, 0x10000ull, 4096);
    on_cpu(&tt, 2, 0);
    map(&tt, 0x20000ull, 0x700010000ull, 4096); /* B */
    unmap(&tt, 0x20000ull, 4096);
    on_cpu(&tt, 2, 1);
    tt.t += 100000000; /* 100 ms: past the 10 ms timer */
    map(&tt, 0x30000ull, 0x700020000ull, 4096); /* C on CPU 1: tree */
    on_cpu(&tt, 1, 1);
    size_t before_cpu0_maps = tt.n;
    map(&tt, 0x40000ull, 0x700030000ull, 4096); /* D, E on CPU 0: A, B */
    map(&tt, 0x50000ull, 0x700040000ull, 4096);
    on_cpu(&tt, 2, 0);

    s = run_first(&tt, before_cpu0_maps, sets);
    assert_int_equal(test_stat(s, "os.fq_flushes"), 1);
    assert_int_equal(test_stat(s, "os.fq_full_flushes"), 0);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 0);
    iosim_sim_free(s);
    s = run_first(&tt, tt.n, sets);
    assert_int_equal(test_stat(s, "os.iova_allocs"), 5);
    assert_int_equal(test_stat(s, "os.iova_rcache_hits"), 2);
    iosim_sim_free(s);
}

/* Linux arms one flush-queue timer per domain (iommu_dma_cookie's
 * fq_timer; dma-iommu.c queue_iova / fq_flush_timeout): its timeout is
 * msecs_to_jiffies(10) = 3 jiffies at HZ 250, plus the one jiffy of slack
 * configured (os.fq_timer_slack_jiffies) = 16 ms after the enqueue that
 * armed it.  Domain 1 (device 0x100) queues at 1 ms, domain 2 (device
 * 0x200) at 9 ms: at 18 ms only domain 1's timer has fired (one flush, one
 * domain-selective descriptor); at 26 ms domain 2's has too. */
static void test_lazy_timer_per_domain(void **st)
{
    (void)st;
    trace_t tr = {0};
    const uint64_t ms = 1000000;
    map(&tr, 0x10000ull, 0x700000000ull, 4096);
    unmap(&tr, 0x10000ull, 4096);
    tr.r[1].t = 1 * ms;
    map(&tr, 0x10000ull, 0x800000000ull, 4096);
    tr.r[2].t = 8 * ms;
    unmap(&tr, 0x10000ull, 4096);
    tr.r[3].t = 9 * ms;
    for (int i = 2; i < 4; i++) {
        tr.r[i].domain = 2;
        tr.r[i].device = 0x200;
    }
    mark_at(&tr, 18 * ms);
    size_t first_fired = tr.n;
    mark_at(&tr, 26 * ms);

    const char *sets[] = {"sim.window_only=false", NULL};
    iosim_sim_t *s = run_first(&tr, first_fired, sets);
    assert_int_equal(test_stat(s, "os.fq_flushes"), 1);
    assert_int_equal(test_stat(s, "iq.iotlb_dsi"), 1);
    iosim_sim_free(s);
    s = run_first(&tr, tr.n, sets);
    assert_int_equal(test_stat(s, "os.fq_flushes"), 2);
    assert_int_equal(test_stat(s, "iq.iotlb_dsi"), 2);
    iosim_sim_free(s);
}

/* trace.map_read_only counts the buffers the device may only read (a MAP
 * with prot r: tx packets such as ACKs), the F&S artifact's "ACKs per
 * page": of four maps with prot r, w, rw and none, exactly one. */
static void test_map_read_only(void **st)
{
    (void)st;
    trace_t tr = {0};
    const uint8_t prots[] = {IOSIM_PROT_READ, IOSIM_PROT_WRITE,
                             IOSIM_PROT_READ | IOSIM_PROT_WRITE, 0};
    for (uint64_t i = 0; i < 4; i++)
        add(&tr, IOSIM_REC_MAP, 0x1000 * (i + 1), 4096, 0x200000 + 0x1000 * i,
            prots[i]);
    iosim_sim_t *s = run(&tr, "strict", NULL, true);
    assert_int_equal(test_stat(s, "trace.map"), 4);
    assert_int_equal(test_stat(s, "trace.map_read_only"), 1);
    iosim_sim_free(s);
}

/* vtd.inval_walks_in_flight.  A at 0x10000, B at 0x11000 and C at
 * 0x12000 share every non-leaf entry (one 2 MB region).  The device reads
 * 64 B of A: a cold walk, root + context entry and the 4 levels = 6 reads
 * of mem_ns each, far longer than the 5 ns the 64 B take on the link, so
 * the walk is still in flight when strict unmaps C (a PSI with IH=0 that
 * drops the PML4E/PDPTE/PDE entries covering C, i.e. A's and B's).  Then
 * B is read, then (a_again) A once more.
 *   restart: A is walked again before B's request: an IOTLB miss, the
 *     context cache still hit, the 3 non-leaf levels missed again = 4
 *     reads; B then misses the IOTLB only (1 read); A's second access
 *     hits.  Misses 3, reads 6 + 4 + 1 = 11, with or without a_again.
 *   drop-fill: A's fill is gone, nothing is walked until B: B misses and
 *     walks the 3 emptied levels + its PTE (4 reads); A's second access
 *     misses and finds B's non-leaf entries: 1 read.  Misses 3, reads
 *     11; without a_again 2 and 10.
 *   complete: A's fill stands, B walks 4 levels: misses 2, reads 10.
 * PTcache-L1 misses are 2 in all of these (A's cold walk, the first walk
 * after the unmap).  A walk that is over before the unmap (mem_ns 10:
 * 60 ns, while the 4 KB of A take 328 ns on a 100 Gb/s link) and an unmap
 * with IH=1 (PTcaches kept: reads 6 + 1, one L1 miss) discard nothing. */
static void inflight_trace(trace_t *tr, uint64_t a_bytes, bool a_again)
{
    map(tr, 0x10000ull, 0x700000000ull, 4096);
    map(tr, 0x11000ull, 0x700001000ull, 4096);
    map(tr, 0x12000ull, 0x700002000ull, 4096);
    dma(tr, 0x10000ull, a_bytes);
    unmap(tr, 0x12000ull, 4096);
    dma(tr, 0x11000ull, 64);
    if (a_again)
        dma(tr, 0x10000ull, 64);
}

static void expect_walks(const char *mode, const char *mem_ns, uint64_t a_bytes,
                         bool a_again, bool ih1, uint64_t discarded,
                         uint64_t misses, uint64_t reads)
{
    trace_t tr = {0};
    inflight_trace(&tr, a_bytes, a_again);
    const char *sets[] = {mem_ns, mode, ih1 ? "os.pass_ih=true" : NULL, NULL};
    iosim_sim_t *s = run(&tr, "strict", sets, true);
    assert_int_equal(test_stat(s, "walk.fills_discarded"), discarded);
    assert_int_equal(test_stat(s, "iotlb.misses"), misses);
    assert_int_equal(test_stat(s, "walk.mem_reads"), reads);
    assert_int_equal(test_stat(s, "psc.l1_misses"), ih1 ? 1 : 2);
    assert_int_equal(test_stat(s, "dma.faults"), 0);
    iosim_sim_free(s);
}

static void test_inval_walks_in_flight(void **st)
{
    (void)st;
    const char *restart = "vtd.inval_walks_in_flight=restart";
    const char *drop = "vtd.inval_walks_in_flight=drop-fill";
    const char *complete = "vtd.inval_walks_in_flight=complete";
    const char *slow = "vtd.mem_ns=100", *fast = "vtd.mem_ns=10";
    expect_walks(restart, slow, 64, true, false, 1, 3, 11);
    expect_walks(restart, slow, 64, false, false, 1, 3, 11);
    expect_walks(drop, slow, 64, true, false, 1, 3, 11);
    expect_walks(drop, slow, 64, false, false, 1, 2, 10);
    expect_walks(complete, slow, 64, true, false, 0, 2, 10);
    expect_walks(restart, fast, 4096, true, false, 0, 2, 10);
    expect_walks(drop, fast, 4096, true, false, 0, 2, 10);
    expect_walks(restart, slow, 64, true, true, 0, 2, 7);
    expect_walks(drop, slow, 64, true, true, 0, 2, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fands_one_psi),
        cmocka_unit_test(test_fands_open_chunk_waits),
        cmocka_unit_test(test_summary_busiest_cpu),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_coiommu_batches),
        cmocka_unit_test(test_optimistic_reuse),
        cmocka_unit_test(test_vhost_iotlb),
        cmocka_unit_test(test_vhost_iotlb_merge_evict),
        cmocka_unit_test(test_reallocate_modes),
        cmocka_unit_test(test_lazy_reallocate_release),
        cmocka_unit_test(test_lazy_timer_per_domain),
        cmocka_unit_test(test_map_read_only),
        cmocka_unit_test(test_inval_walks_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
