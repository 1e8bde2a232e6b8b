/* dev.h — device models: what a device does with the buffers its driver
 * maps, so that a trace of the kernel's maps and unmaps (ftrace) drives
 * the IOTLB with the accesses the device would have made.
 *
 * Concepts:
 *   - A device model is an ops struct plus one line in dev_registry.c.  It
 *     receives the trace's MAP, UNMAP and MARK records of the device and
 *     emits the device's accesses (address, size, direction; at the time
 *     of the record it was given) with dev_access(), which translates
 *     them exactly as a DMA record of the trace would be.
 *   - Its parameters are rows `dev.<model>.*` of its own table (ops.params,
 *     kept in the configuration's plug-in area: iosim_plugin_params).
 *   - `dev.model` selects it (config.c validates the name against the
 *     registry).  auto: a trace with DMA records (has_dma=1, QEMU-merged)
 *     replays them; otherwise the model its metadata names (meta.device),
 *     else the registry's first model (`touch`).  none: no accesses.
 *   - A model that cannot serve a record (a map it has no role for)
 *     returns -1 with a reason; the sim adds the trace, record number and
 *     configuration, and main exits 2.
 * Assumptions: one device model per configuration, applied to every
 *   device (source id) of the trace.
 * Not modeled: per-source-id models in one trace (a trace with two NICs
 *   of different kinds).
 */
#ifndef IOSIM_DEV_H
#define IOSIM_DEV_H

#include "system/services.h"

typedef struct dev_model_ops {
    const char *name;
    const char *summary;
    const char *source; /* driver / device files and functions it follows */
    /* a trace source (meta.source) whose driver-only traces (has_dma 0)
     * this model completes with the device's accesses; NULL = none */
    const char *completes;
    /* its own parameters (dev.<name>.*) and their check, which runs
     * whatever dev.model says (auto picks the model per trace); no
     * --compare item names a model, so none implies settings today */
    iosim_plugin_params_t params;
    void *(*create)(iosim_sim_t *s, iosim_err_t *err);
    void (*destroy)(void *state); /* NULL = state needs no freeing */
    /* a MAP record, after the trace's view and the OS policy took it (the
     * buffer is live: accesses may be emitted) */
    int (*map)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* an UNMAP record, before the OS policy unmaps it (still live) */
    int (*unmap)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* a MARK record; NULL = ignored */
    int (*mark)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* an INVAL record, after the OS policy took it; NULL = ignored */
    int (*inval)(void *state, const iosim_rec_t *r, iosim_err_t *err);
    /* end of trace; NULL = nothing to do */
    int (*finish)(void *state, iosim_err_t *err);
} dev_model_ops_t;

extern const dev_model_ops_t *const dev_model_registry[];
const dev_model_ops_t *dev_model_find(const char *name);

/* ---- services for device models (sim.c), beside services.h's ----------- */

/* One device access of size bytes at trace IOVA iova, by the device (and
 * domain, PASID) of record r, at the current time: translated page by page
 * through the OS policy's IOVA, the hypervisor mode and the VT-d model,
 * timed and counted as a DMA record of the trace would be (and counted in
 * dma.synth).  write: the device writes memory. */
void dev_access(iosim_sim_t *s, const iosim_rec_t *r, uint64_t iova,
                uint64_t size, bool write);
/* dev_access, and what the model calls the access (a static string, e.g.
 * "rx.avail.idx"; shown by iosim --dump-accesses, system/access_dump.c). */
void dev_access_as(iosim_sim_t *s, const iosim_rec_t *r, uint64_t iova,
                   uint64_t size, bool write, const char *what);
/* True if the trace has iova mapped (a buffer between its MAP and UNMAP,
 * or a mapping made before the trace began that the trace unmaps). */
bool dev_live(const iosim_sim_t *s, uint64_t iova);
/* Asks the sim to hold back w records: from then on a record reaches the
 * model only once w records have come after it (or the trace has ended),
 * whatever the batches the reader delivers.  Called from create; a model
 * that never calls it sees each record as it comes. */
int dev_lookahead(iosim_sim_t *s, size_t w, iosim_err_t *err);
/* The i-th record (from 0) after the one being served, in trace order;
 * NULL past the records held back. */
const iosim_rec_t *dev_peek(const iosim_sim_t *s, size_t i);

#endif
