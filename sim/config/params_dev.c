/* params_dev.c — the device-model selector (dev.model); each model's own
 * parameters (dev.<model>.*) are declared in its file under sim/dev/.
 *
 * Concepts: which model turns the trace's maps and unmaps into the
 *   device's accesses (sim/dev/dev.h).
 * Assumptions: ftrace captures carry maps and unmaps but no DMA records;
 *   QEMU-merged captures carry the device's real translations.
 * Not modeled: a different model per source id.
 */
#include <stddef.h>

#include "config/config.h"

#define OFF(field) offsetof(struct iosim_config, field)

// clang-format off
const iosim_param_t iosim_params_dev[] = {
    {"dev.model", IOSIM_P_STR, OFF(dev.model), "auto", 1, 0, NULL,
     "device model that emits the device's accesses (iosim --list): auto = "
     "replay the trace's DMA records if its metadata says has_dma=1 (a DMA "
     "record otherwise is an error), else the model its metadata names "
     "(device=), else touch; none = no accesses; a model name = that model "
     "(a trace's own DMA records still replay too: remove them to compare, "
     "as scripts/dev-check does)",
     "design choice: ftrace captures carry map/unmap but no DMA records "
     "(traces/raw/SHARED-CAPTURES.md); QEMU-merged ones carry them"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on
