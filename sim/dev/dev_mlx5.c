/* dev_mlx5.c — placeholder: being written (issue 20). */
#include <stddef.h>

#include "config/config.h"

const iosim_param_t iosim_params_dev_mlx5[] = {
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
