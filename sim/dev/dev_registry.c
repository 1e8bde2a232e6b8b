/* dev_registry.c — the list of device models (one line per model; the
 * model lives in its own file, sim/dev/dev_<name>.c). */
#include <string.h>

#include "dev/dev.h"

extern const dev_model_ops_t dev_model_touch;
extern const dev_model_ops_t dev_model_mlx5;
extern const dev_model_ops_t dev_model_e1000e;
extern const dev_model_ops_t dev_model_virtio_net;

/* The first model is what dev.model auto runs on a trace whose metadata
 * names none. */
const dev_model_ops_t *const dev_model_registry[] = {
    &dev_model_touch,
    &dev_model_virtio_net,
    &dev_model_e1000e,
    &dev_model_mlx5,
    NULL,
};

const char *iosim_dev_model_completing(const char *source)
{
    for (size_t i = 0; dev_model_registry[i]; i++)
        if (dev_model_registry[i]->completes &&
            !strcmp(dev_model_registry[i]->completes, source))
            return dev_model_registry[i]->name;
    return "";
}

const dev_model_ops_t *dev_model_find(const char *name)
{
    for (size_t i = 0; dev_model_registry[i]; i++)
        if (!strcmp(dev_model_registry[i]->name, name))
            return dev_model_registry[i];
    return NULL;
}
