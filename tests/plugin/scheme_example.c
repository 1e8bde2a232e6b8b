/* scheme_example.c — an example scheme with two knobs and a cost of its
 * own: Linux strict, plus a software check of every unmapped buffer
 * before its IOVA is given back (for instance a scan for stale device
 * writes).  It exists to prove that a scheme is one file: its parameters,
 * their check and its cost cause are declared here and in
 * plugin_hooks.h, nothing else of iosim names it.
 *
 * Concepts:
 *   - Every map, unmap and invalidation is strict's (the strict policy's
 *     hooks run underneath, found in the registry by name).
 *   - Each unmap of n 4 KB pages (size rounded up) costs
 *     scheme.example_fixed_cycles + n x scheme.example_page_cycles CPU
 *     cycles, charged to the cause EXAMPLE_CHECK (cpu.example_check_cycles,
 *     per_request.example_check_cycles, summary example_check_cycles).
 *   - It implies os.strict_batch 1 (one invalidation per submission):
 *     a --compare or sweep item naming it sets that first.
 * Assumptions: the check's cost is linear in the pages of the buffer; the
 *   numbers are a test's, not a measurement (UNVERIFIED by design).
 * Not modeled: what the check would find.
 */
#include <stddef.h>
#include <stdlib.h>

#include "os/os.h"

/* Its parameters, kept in the configuration's plug-in area. */
struct example_params {
    double fixed_cycles; /* per unmap */
    double page_cycles;  /* per 4 KB page of the unmap */
};

#define OFF(field) offsetof(struct example_params, field)

// clang-format off
static const iosim_param_t example_rows[] = {
    {"scheme.example_fixed_cycles", IOSIM_P_F64, OFF(fixed_cycles), "500",
     0, 1e9, NULL, "example: CPU cycles of the check per unmapped buffer",
     "UNVERIFIED: a test value (tests/plugin)"},
    {"scheme.example_page_cycles", IOSIM_P_F64, OFF(page_cycles), "100", 0,
     1e9, NULL,
     "example: CPU cycles of the check per 4 KB page of an unmapped buffer",
     "UNVERIFIED: a test value (tests/plugin)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

/* A check that costs nothing is a configuration mistake, not a scheme. */
static int example_validate(const iosim_config_t *c, const void *params,
                            iosim_err_t *err)
{
    const struct example_params *p = params;
    (void)c;
    if (p->fixed_cycles == 0 && p->page_cycles == 0)
        return iosim_err_key(err, "scheme.example_page_cycles",
                             "0 with scheme.example_fixed_cycles 0: the "
                             "example scheme would be strict");
    return 0;
}

typedef struct example {
    iosim_sim_t *s;
    const struct example_params *p;
    const os_policy_ops_t *strict;
    void *strict_state;
} example_t;

static void *example_create(iosim_sim_t *s, iosim_err_t *err)
{
    example_t *e = calloc(1, sizeof *e);
    if (!e)
        return iosim_err_set(err, "scheme_example.c: out of memory"), NULL;
    e->s = s;
    e->p = iosim_plugin_params(sim_config(s), example_rows);
    e->strict = os_policy_find("strict");
    if (!e->strict || !(e->strict_state = e->strict->create(s, err))) {
        if (!e->strict)
            iosim_err_set(err, "scheme_example.c: no strict policy");
        free(e);
        return NULL;
    }
    return e;
}

static void example_destroy(void *state)
{
    example_t *e = state;
    if (e->strict->destroy)
        e->strict->destroy(e->strict_state);
    free(e);
}

static int example_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    example_t *e = state;
    return e->strict->map(e->strict_state, r, err);
}

static int example_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    example_t *e = state;
    uint64_t pages = (r->size + 4095) / 4096;
    sim_cpu(e->s, SIM_CPU_EXAMPLE_CHECK,
            e->p->fixed_cycles + e->p->page_cycles * (double)pages);
    return e->strict->unmap(e->strict_state, r, err);
}

/* strict's optional hooks, when it has them */
static int example_inval(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    example_t *e = state;
    return e->strict->inval ? e->strict->inval(e->strict_state, r, err) : 0;
}

static void example_tick(void *state, uint64_t now)
{
    example_t *e = state;
    if (e->strict->tick)
        e->strict->tick(e->strict_state, now);
}

static int example_finish(void *state, iosim_err_t *err)
{
    example_t *e = state;
    return e->strict->finish ? e->strict->finish(e->strict_state, err) : 0;
}

static void example_dma(void *state, const iosim_rec_t *r, uint64_t iova,
                        uint64_t size, bool write)
{
    example_t *e = state;
    if (e->strict->dma)
        e->strict->dma(e->strict_state, r, iova, size, write);
}

static uint64_t example_dma_iova(void *state, const iosim_rec_t *r)
{
    example_t *e = state;
    return e->strict->dma_iova ? e->strict->dma_iova(e->strict_state, r)
                               : r->iova;
}

/* The check reads each buffer once its own invalidation has completed, so
 * a strict unmap's descriptors go to the queue alone, one per
 * qi_submit_sync (what os.strict_batch 1 models), whatever the kernel
 * batches: --compare example applies it. */
static const char *const example_implies[] = {"os.strict_batch=1", NULL};

const os_policy_ops_t os_policy_example = {
    .name = "example",
    .summary = "strict plus a checked unmap (tests/plugin: a scheme with "
               "two knobs and a cost of its own)",
    .source = "tests/plugin/scheme_example.c",
    .translates = true,
    .create = example_create,
    .destroy = example_destroy,
    .map = example_map,
    .unmap = example_unmap,
    .inval = example_inval,
    .tick = example_tick,
    .finish = example_finish,
    .dma_iova = example_dma_iova,
    .dma = example_dma,
    .params = {example_rows, sizeof(struct example_params), example_validate,
               example_implies},
};
