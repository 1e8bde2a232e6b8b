/* hv_emulated.c — QEMU's emulated intel-iommu with caching mode and a
 * VFIO-assigned device (trap-and-emulate vIOMMU with shadowing).
 *
 * Concepts:
 *   - The guest writes its own page tables (plain memory writes, no exit);
 *     caching mode (CAP.CM=1) obliges it to invalidate after every map
 *     as well as every unmap (MODEL.md §3.7, §1.6.4).
 *   - Every guest invalidation-queue submission is one IQT register write,
 *     i.e. one VM exit to QEMU (hv.vmexit_cycles), which processes all
 *     queued descriptors (hv.qemu_desc_cycles each) (MODEL.md §4.3).
 *   - For an IOTLB page-selective descriptor QEMU walks the guest table over
 *     the range and syncs the shadow: each new or changed guest leaf is one
 *     VFIO MAP, each vanished one a VFIO UNMAP (hv.shadow_page_cycles
 *     each); a domain-selective or global descriptor syncs the whole
 *     domain (vtd_address_space_sync).  The host's IOMMU domain of the
 *     device is the shadow; the host unmaps strictly, so every VFIO UNMAP
 *     is followed by a host IOTLB (+ device-TLB) invalidation on the
 *     physical VT-d.
 *   - The device's DMA is translated by the physical VT-d through the
 *     shadow domain (host DID = guest DID).
 * Assumptions: guest RAM sits at host-physical GPA + 64 GiB; QEMU's own
 * emulated IOTLB is not used by VFIO devices (MODEL.md §4.2).
 * Not modeled: QEMU's own translation of an emulated device's DMA (a
 * virtio device behind intel-iommu with caching mode off, as in the
 * cm-off capture): without CM the guest's maps never reach the shadow,
 * so only the invalidation stream is meaningful and DMA counts as faults
 * (dma.faults); --compare POLICY@emulated turns CM on (its params.implies).
 * Also not modeled: QEMU's iova_tree memory, VFIO page pinning cost separate
 * from the ioctl, the IOTLB-size reset artefact of emulated devices. */
#include <stdlib.h>

#include "base/sparse16.h"
#include "base/vec.h"
#include "hv/hv.h"
#include "os/os.h"

#define EMU_HPA_OFFSET (64ull << 30)

typedef struct emu {
    iosim_sim_t *s;
    physmem_t gmem; /* guest-physical table pages */
    sparse16_t gpt; /* DID -> guest page table (pgtable_t *) */
} emu_t;

static void *emu_create(iosim_sim_t *s, iosim_err_t *err)
{
    emu_t *e = calloc(1, sizeof *e);
    if (!e)
        return iosim_err_set(err, "out of memory"), NULL;
    e->s = s;
    physmem_init(&e->gmem, 16ull << 20);
    return e;
}

static void emu_destroy(void *state)
{
    emu_t *e = state;
    uint32_t cursor = 0;
    uint16_t did;
    uintptr_t value;
    while (sparse16_next(&e->gpt, &cursor, &did, &value)) {
        pgtable_fini((pgtable_t *)value);
        free((pgtable_t *)value);
    }
    sparse16_fini(&e->gpt);
    physmem_fini(&e->gmem);
    free(e);
}

static inline pgtable_t *guest_table_find(const emu_t *e, uint16_t did)
{
    return (pgtable_t *)sparse16_get(&e->gpt, did);
}

static pgtable_t *guest_table(emu_t *e, uint16_t did, iosim_err_t *err)
{
    pgtable_t *found = guest_table_find(e, did);
    if (found)
        return found;
    pgtable_t *pt = calloc(1, sizeof *pt);
    if (!pt ||
        pgtable_init(pt, (uint8_t)sim_config(e->s)->vtd.ss_levels, &e->gmem)) {
        free(pt);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    if (sparse16_set(&e->gpt, did, (uintptr_t)pt)) {
        pgtable_fini(pt);
        free(pt);
        return iosim_err_set(err, "out of memory"), NULL;
    }
    return pt;
}

static long emu_map(void *state, uint16_t did, uint64_t iova, uint64_t phys,
                    uint64_t size, bool write, iosim_err_t *err)
{
    emu_t *e = state;
    pgtable_t *pt = guest_table(e, did, err);
    if (!pt)
        return -1;
    long n = pgtable_map(pt, iova, phys, size, write, true);
    if (n == PGTABLE_ENOMEM)
        return iosim_err_set(err, "out of memory");
    if (n < 0)
        return iosim_err_set(err,
                             "guest map of iova 0x%llx in domain %u "
                             "overlaps a live mapping",
                             (unsigned long long)iova, did);
    return n;
}

static long emu_unmap(void *state, uint16_t did, uint64_t iova, uint64_t size,
                      iosim_err_t *err)
{
    emu_t *e = state;
    pgtable_t *pt = guest_table(e, did, err);
    if (!pt)
        return -1;
    long n = pgtable_unmap(pt, iova, size, NULL);
    if (n < 0)
        return iosim_err_set(err,
                             "guest unmap of iova 0x%llx exceeds the "
                             "address width of domain %u",
                             (unsigned long long)iova, did);
    return n;
}

/* ---- shadow sync ------------------------------------------------------ */

typedef struct sync_ctx {
    emu_t *e;
    uint16_t did;
    uint64_t *stale; /* host leaves to remove: iova, span pairs */
    size_t n, cap;
} sync_ctx_t;

static void host_unmap(emu_t *e, uint16_t did, uint64_t iova, uint64_t span)
{
    iosim_sim_t *s = e->s;
    iosim_err_t ignore;
    long freed = vtd_unmap(sim_vtd(s), did, iova, span, &ignore);
    sim_count(s, IOSIM_ST_HV_SHADOW_UNMAPS, 1);
    sim_cpu(s, SIM_CPU_SHADOW, sim_config(s)->hv.shadow_page_cycles);
    /* VFIO domains are strict (MODEL.md §6): invalidate on the host now */
    vtd_desc_t d[2] = {{.type = IOSIM_DESC_IOTLB,
                        .gran = IOSIM_GRAN_PAGE,
                        .did = did,
                        .ih = freed == 0}};
    vtd_psi_range(iova, span, &d[0].addr, &d[0].am);
    size_t n = 1;
    if (sim_config(s)->vtd.ats) {
        d[1] = (vtd_desc_t){.type = IOSIM_DESC_DEVTLB,
                            .gran = IOSIM_GRAN_PAGE,
                            .did = did,
                            .addr = d[0].addr,
                            .am = d[0].am};
        n = 2;
    }
    double ns = vtd_submit(sim_vtd(s), d, n);
    sim_count(s, IOSIM_ST_HV_HOST_INVALS, 1);
    sim_cpu(s, SIM_CPU_SHADOW,
            sim_config(s)->os.inval_submit_cycles +
                ns * sim_config(s)->os.cpu_ghz);
}

static int sync_guest_leaf(uint64_t iova, uint64_t phys, uint64_t span,
                           bool write, void *arg)
{
    sync_ctx_t *c = arg;
    iosim_sim_t *s = c->e->s;
    uint64_t hpa = phys + EMU_HPA_OFFSET, cur;
    if (vtd_lookup(sim_vtd(s), c->did, iova, &cur)) {
        if (cur == hpa)
            return 0; /* iova_tree: identical mapping, skipped */
        host_unmap(c->e, c->did, iova, span);
    }
    iosim_err_t ignore;
    if (vtd_map(sim_vtd(s), c->did, iova, hpa, span, write, &ignore) >= 0) {
        sim_count(s, IOSIM_ST_HV_SHADOW_MAPS, 1);
        sim_cpu(s, SIM_CPU_SHADOW, sim_config(s)->hv.shadow_page_cycles);
    }
    return 0;
}

static int find_stale_host_leaf(uint64_t iova, uint64_t phys, uint64_t span,
                                bool write, void *arg)
{
    (void)phys, (void)write;
    sync_ctx_t *c = arg;
    pgtable_t *g = guest_table_find(c->e, c->did);
    pt_walk_t w;
    if (g && pgtable_walk(g, iova, &w))
        return 0;
    if (vec_reserve(&c->stale, &c->cap, c->n + 2, 64)) {
        sim_out_of_memory(c->e->s);
        return 1;
    }
    c->stale[c->n++] = iova;
    c->stale[c->n++] = span;
    return 0;
}

/* vtd_sync_shadow_page_table_range(): make the host domain equal the
 * guest table over [lo, hi). */
static void shadow_sync(emu_t *e, uint16_t did, uint64_t lo, uint64_t hi)
{
    sync_ctx_t c = {.e = e, .did = did};
    vtd_host_for_each_leaf(sim_vtd(e->s), did, lo, hi, find_stale_host_leaf,
                           &c);
    for (size_t i = 0; i < c.n; i += 2)
        host_unmap(e, did, c.stale[i], c.stale[i + 1]);
    free(c.stale);
    pgtable_t *g = guest_table_find(e, did);
    if (g)
        pgtable_for_each_leaf(g, lo, hi, sync_guest_leaf, &c);
}

static double emu_submit(void *state, const vtd_desc_t *d, size_t n)
{
    emu_t *e = state;
    iosim_sim_t *s = e->s;
    /* one IQT tail write = one VM exit; QEMU handles every descriptor
     * inside it, so the guest's wait completes on its first poll */
    sim_count(s, IOSIM_ST_HV_EXITS, 1);
    sim_cpu(s, SIM_CPU_VMEXIT, sim_config(s)->hv.vmexit_cycles);
    for (size_t i = 0; i < n; i++) {
        sim_cpu(s, SIM_CPU_SHADOW, sim_config(s)->hv.qemu_desc_cycles);
        if (d[i].type != IOSIM_DESC_IOTLB && d[i].type != IOSIM_DESC_PIOTLB)
            continue;
        if (d[i].gran == IOSIM_GRAN_PAGE) {
            unsigned am = d[i].am > 52 ? 52 : d[i].am;
            uint64_t lo = d[i].addr & ~((4096ull << am) - 1);
            shadow_sync(e, d[i].did, lo, lo + (4096ull << am));
        } else if (d[i].gran == IOSIM_GRAN_DOMAIN) {
            shadow_sync(e, d[i].did, 0, ~0ull);
        } else {
            uint32_t cursor = 0;
            uint16_t did;
            uintptr_t table;
            while (sparse16_next(&e->gpt, &cursor, &did, &table))
                shadow_sync(e, did, 0, ~0ull);
        }
    }
    return 0; /* the guest sees no hardware queue time */
}

static vtd_xlate_result_t emu_translate(void *state, uint16_t sid,
                                        uint32_t pasid, uint16_t did,
                                        uint64_t iova, bool write)
{
    emu_t *e = state;
    /* a guest with iommu=pt behind a vIOMMU: the device uses GPAs */
    if (!sim_os_translates(e->s))
        return hv_guest_ram_translate(e->s, sid, iova, write);
    return vtd_translate(sim_vtd(e->s), sid, pasid, did, iova, write);
}

/* QEMU refuses a VFIO device behind intel-iommu without caching-mode=on
 * (vtd_iommu_notify_flag_changed: "requires caching mode"), so the mode
 * brings CM=1. */
static const char *const emu_implies[] = {"vtd.caching_mode=true", NULL};

const hv_mode_ops_t hv_mode_emulated = {
    .name = "emulated",
    .summary = "QEMU intel-iommu, caching mode, VFIO shadowing: every "
               "invalidation submission is a VM exit",
    .source = "qemu hw/i386/intel_iommu.c vtd_iotlb_page_invalidate_notify "
              "(MODEL.md §4.3); Amit et al. ATC'11",
    .create = emu_create,
    .destroy = emu_destroy,
    .map = emu_map,
    .unmap = emu_unmap,
    .submit = emu_submit,
    .translate = emu_translate,
    .params = {.implies = emu_implies},
};
