/* scheme_coiommu.c — CoIOMMU-style deferred teardown (Tian, Zhang, Kang,
 * Zhao, Dong, "coIOMMU: A Virtual IOMMU with Cooperative DMA Buffer
 * Tracking for Efficient Memory Management in Direct I/O", USENIX ATC'20).
 *
 * Concepts:
 *   - A map allocates an IOVA and maps it as Linux does (with the
 *     caching-mode notification under an emulated vIOMMU).  The guest
 *     also records the buffer in a DMA tracking table (DTT) shared with
 *     the host, which pins pages from it.
 *   - An unmap only marks the buffer in the DTT: its PTEs stay, the page
 *     stays pinned, no invalidation is submitted — in an emulated vIOMMU
 *     this avoids the VM exit of every unmap.  Marked buffers are torn
 *     down in a batch when scheme.coiommu_batch are marked or
 *     scheme.coiommu_timeout_ms after the first mark: every marked
 *     mapping is cleared, one domain-wide invalidation per domain is
 *     submitted (os_linux_flush_all), and the IOVAs are freed.
 *   - Protection implication: until the batch teardown an unmapped
 *     buffer is still mapped in the page table, so the device can reach
 *     it through a full walk, not only through stale IOTLB entries; these
 *     accesses are not faults and are not counted as dma.stale_hits.
 *     (crosvm's CoIOMMU device documents that CoIOMMU gives no
 *     intra-guest protection and is for trusted devices only,
 *     crosvm.dev devices/pci/coiommu.)
 * Assumptions: the scheme always allocates model IOVAs (a marked IOVA
 * must not be handed out again before its teardown); the DTT write of a
 * mark costs no CPU cycles (placeholder, UNVERIFIED); the PTE-clear work
 * (os.unmap_cycles) is paid at teardown.
 * Not modeled: host-side pinning / unpinning and memory overcommit (the
 * paper's real subject), speculative pinning. */
#include <stddef.h>
#include <stdlib.h>

#include "base/vec.h"
#include "os/iova.h"
#include "os/os.h"

/* Its parameters (scheme.*), kept in the configuration's plug-in area. */
struct coiommu_params {
    uint32_t batch;    /* marked buffers per teardown */
    double timeout_ms; /* teardown timer */
};

#define OFF(field) offsetof(struct coiommu_params, field)

// clang-format off
static const iosim_param_t coiommu_rows[] = {
    {"scheme.coiommu_batch", IOSIM_P_U32, OFF(batch), "64", 1,
     1048576.0, NULL,
     "coiommu: buffers marked unmapped in the DMA tracking table before "
     "one batched teardown + invalidation",
     "placeholder (UNVERIFIED): Tian et al. ATC'20 defer unpinning; the "
     "batch size is not taken from the paper"},
    {"scheme.coiommu_timeout_ms", IOSIM_P_F64, OFF(timeout_ms),
     "10", 0.001, 1e6, NULL,
     "coiommu: a batch is torn down at the latest this long after its "
     "first buffer was marked (ms)",
     "placeholder (UNVERIFIED): taken equal to Linux's flush-queue timer "
     "(IOVA_DEFAULT_FQ_TIMEOUT, MODEL.md §1.4)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

typedef struct marked {
    iova_piece_t p;
    uint16_t sid;
} marked_t;

typedef struct coiommu {
    iosim_sim_t *s;
    iova_remap_t *remap;
    marked_t *marked;
    size_t n, cap;
    uint64_t deadline;
    uint64_t timeout_ns;
    uint32_t batch;
} coiommu_t;

static void *co_create(iosim_sim_t *s, iosim_err_t *err)
{
    coiommu_t *c = calloc(1, sizeof *c);
    if (!c)
        return iosim_err_set(err, "scheme_coiommu.c: out of memory"), NULL;
    c->s = s;
    const struct coiommu_params *p =
        iosim_plugin_params(sim_config(s), coiommu_rows);
    c->batch = p->batch ? p->batch : 1;
    c->timeout_ns = (uint64_t)(p->timeout_ms * 1e6);
    if (!(c->remap = iova_remap_new(s, err))) {
        free(c);
        return NULL;
    }
    return c;
}

static void co_destroy(void *state)
{
    coiommu_t *c = state;
    free(c->marked);
    iova_remap_free(c->remap);
    free(c);
}

static uint64_t co_dma_iova(void *state, const iosim_rec_t *r)
{
    coiommu_t *c = state;
    return iova_remap_dma(c->remap, r);
}

/* Tears down every marked buffer: PTEs, one flush per domain, IOVAs. */
static int co_teardown(coiommu_t *c, iosim_err_t *err)
{
    iosim_sim_t *s = c->s;
    if (!c->n)
        return 0;
    sim_count(s, IOSIM_ST_OS_DEFERRED_TEARDOWNS, 1);
    for (size_t i = 0; i < c->n; i++) {
        const iova_piece_t *p = &c->marked[i].p;
        sim_cpu(s, SIM_CPU_UNMAP, sim_config(s)->os.unmap_cycles);
        if (sim_iommu_unmap(s, p->did, p->model_iova, p->size, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < c->n; i++) { /* one flush per distinct domain */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = c->marked[j].p.did == c->marked[i].p.did;
        if (!seen)
            os_linux_flush_all(s, c->marked[i].p.did, c->marked[i].sid);
    }
    for (size_t i = 0; i < c->n; i++) {
        iova_remap_release(c->remap, &c->marked[i].p);
        sim_cpu(s, SIM_CPU_IOVA, sim_config(s)->os.iova_free_cycles);
    }
    c->n = 0;
    return 0;
}

static void co_tick(void *state, uint64_t now)
{
    coiommu_t *c = state;
    if (c->n && now >= c->deadline)
        co_teardown(c, NULL); /* unmapping recorded mappings cannot fail */
}

static int co_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    coiommu_t *c = state;
    return os_linux_map(c->s, c->remap, r, err);
}

static int co_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    coiommu_t *c = state;
    iova_piece_t p;
    while (iova_remap_take(c->remap, r, &p)) {
        if (vec_reserve(&c->marked, &c->cap, c->n + 1, 64))
            return iosim_err_set(err, "scheme_coiommu.c: out of memory");
        if (c->n == 0)
            c->deadline = r->t + c->timeout_ns;
        c->marked[c->n].p = p;
        c->marked[c->n++].sid = r->device;
        if (c->n >= c->batch && co_teardown(c, err))
            return -1;
    }
    return 0;
}

const os_policy_ops_t os_policy_coiommu = {
    .params = {coiommu_rows, sizeof(struct coiommu_params), NULL},
    .name = "coiommu",
    .summary = "CoIOMMU: unmap marks a DMA tracking table; batched deferred "
               "teardown with one domain flush",
    .source = "Tian et al., coIOMMU, USENIX ATC'20",
    .translates = true,
    .create = co_create,
    .destroy = co_destroy,
    .map = co_map,
    .unmap = co_unmap,
    .tick = co_tick,
    .dma_iova = co_dma_iova,
};
