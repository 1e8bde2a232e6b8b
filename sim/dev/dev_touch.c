/* dev_touch.c — the `touch` device model: every mapped byte is touched
 * once, in dev.touch.granule requests, just before the buffer's unmap.
 *
 * Concepts: the simplest device that exercises the IOMMU with the trace's
 *   buffers and nothing else: no rings, no reuse, one translation per
 *   granule.  Each 4 KB page is looked up once per map, so the IOTLB's
 *   capacity never shows (every lookup of a fresh mapping misses).
 * Assumptions: the device uses a buffer once, at the end of its life (the
 *   rx path: the packet lands, then the driver unmaps it).
 * Not modeled: descriptor rings, completion writes, a buffer's reuse while
 *   mapped, accesses of buffers mapped before the trace began (an unmap
 *   whose map was not traced says nothing about when the device used it).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "dev/dev.h"

/* touch (dev_touch.c): every mapped byte once, just before the unmap */
struct dev_touch_params {
    uint32_t granule;         /* bytes per access                */
    char dir[IOSIM_NAME_LEN]; /* write | read                    */
};

#define OFF(field) offsetof(struct dev_touch_params, field)

// clang-format off
static const iosim_param_t touch_rows[] = {
    {"dev.touch.granule", IOSIM_P_U32, OFF(granule), "4096", 64,
     1073741824.0, NULL,
     "touch: bytes per access (one translation each; a power of two)",
     "VT-d base page 4 KiB (MODEL.md §3.2); F&S count per 4 KB page "
     "(FIGURES.md §1)"},
    {"dev.touch.dir", IOSIM_P_STR, OFF(dir), "write", 1, 0,
     "write|read",
     "touch: direction of the accesses: write = device writes memory (rx)",
     "F&S measure the rx path (FIGURES.md §1)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

typedef struct touch {
    iosim_sim_t *sim;
    uint32_t granule;
    bool write;
} touch_t;

/* Checked whatever dev.model says: auto picks the model per trace, after
 * validation. */
static int touch_validate(const iosim_config_t *c, const void *params,
                          iosim_err_t *err)
{
    const struct dev_touch_params *p = params;
    (void)c;
    if (p->granule & (p->granule - 1))
        return iosim_err_key(err, "dev.touch.granule",
                             "%" PRIu32 " is not a power of two", p->granule);
    return 0;
}

static void *touch_create(iosim_sim_t *s, iosim_err_t *err)
{
    touch_t *t = calloc(1, sizeof *t);
    if (!t)
        return iosim_err_set(err, "out of memory"), NULL;
    const iosim_config_t *cfg = sim_config(s);
    t->sim = s;
    const struct dev_touch_params *p = iosim_plugin_params(cfg, touch_rows);
    t->granule = p->granule ? p->granule : 4096;
    t->write = strcmp(p->dir, "read") != 0;
    return t;
}

static void touch_destroy(void *state) { free(state); }

static int touch_map(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    return 0;
}

static int touch_unmap(void *state, const iosim_rec_t *r, iosim_err_t *err)
{
    touch_t *t = state;
    if (!dev_live(t->sim, r->iova))
        return 0;
    for (uint64_t off = 0; off < r->size; off += t->granule) {
        uint64_t n = r->size - off < t->granule ? r->size - off : t->granule;
        dev_access(t->sim, r, r->iova + off, n, t->write);
    }
    return 0;
}

const dev_model_ops_t dev_model_touch = {
    .name = "touch",
    .summary = "every mapped byte once, in dev.touch.granule pieces, just "
               "before the unmap (no rings)",
    .source = "design choice (MODEL.md §2.5: Linux traces no device access)",
    .params = {touch_rows, sizeof(struct dev_touch_params), touch_validate},
    .create = touch_create,
    .destroy = touch_destroy,
    .map = touch_map,
    .unmap = touch_unmap,
};
