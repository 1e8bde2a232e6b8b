/* dev_e1000e.c — placeholder: being written (issue 20). */
#include <stddef.h>

#include "config/config.h"

const iosim_param_t iosim_params_dev_e1000e[] = {
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
