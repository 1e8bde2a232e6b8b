/* dev_params.h — the device-model selector in the resolved configuration
 * (struct iosim_config.dev).
 *
 * Concepts: dev.model names the model; each model keeps its parameters
 *   (`dev.<model>.*`) in a struct and table of its own file
 *   (dev_model_ops_t.params, kept in the configuration's plug-in area).
 * Assumptions: plain data, copied with the configuration.
 * Not modeled: nothing.
 */
#ifndef IOSIM_DEV_PARAMS_H
#define IOSIM_DEV_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#define IOSIM_DEV_NAME_LEN 32

struct iosim_dev_config {
    char model[IOSIM_DEV_NAME_LEN]; /* auto | none | a registered model */
};

#endif
