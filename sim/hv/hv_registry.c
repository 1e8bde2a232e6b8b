/* hv_registry.c — the list of hypervisor modes (one line per mode). */
#include <string.h>

#include "hv/hv.h"

extern const hv_mode_ops_t hv_mode_none;
extern const hv_mode_ops_t hv_mode_emulated;
extern const hv_mode_ops_t hv_mode_nested;
extern const hv_mode_ops_t hv_mode_guest_passthrough;

const hv_mode_ops_t *const hv_mode_registry[] = {
    &hv_mode_none,
    &hv_mode_emulated,
    &hv_mode_nested,
    &hv_mode_guest_passthrough,
    NULL,
};

const hv_mode_ops_t *hv_mode_find(const char *name)
{
    for (size_t i = 0; hv_mode_registry[i]; i++)
        if (!strcmp(hv_mode_registry[i]->name, name))
            return hv_mode_registry[i];
    return NULL;
}

void hv_mode_names_two_stage(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; hv_mode_registry[i]; i++)
        if (hv_mode_registry[i]->two_stage && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "|" : "",
                                    hv_mode_registry[i]->name);
}
