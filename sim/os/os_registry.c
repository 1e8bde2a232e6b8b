/* os_registry.c — the list of guest-OS DMA policies and schemes (one line
 * per policy; the policy lives in its own file). */
#include <string.h>

#include "os/os.h"

extern const os_policy_ops_t os_policy_strict;
extern const os_policy_ops_t os_policy_lazy;
extern const os_policy_ops_t os_policy_passthrough;
extern const os_policy_ops_t os_policy_trace;
extern const os_policy_ops_t os_policy_fands;
extern const os_policy_ops_t os_policy_coiommu;
extern const os_policy_ops_t os_policy_optimistic;
extern const os_policy_ops_t os_policy_static;
extern const os_policy_ops_t os_policy_vhost_iotlb;

/* A build may append policies of its own (tests/plugin/plugin_hooks.h). */
#ifndef IOSIM_OS_POLICIES_EXTRA
#define IOSIM_OS_POLICIES_EXTRA
#endif

const os_policy_ops_t *const os_policy_registry[] = {
    &os_policy_strict,      &os_policy_lazy,
    &os_policy_passthrough, &os_policy_trace,
    &os_policy_fands,       &os_policy_coiommu,
    &os_policy_optimistic,  &os_policy_static,
    &os_policy_vhost_iotlb, IOSIM_OS_POLICIES_EXTRA NULL,
};

const os_policy_ops_t *os_policy_find(const char *name)
{
    for (size_t i = 0; os_policy_registry[i]; i++)
        if (!strcmp(os_policy_registry[i]->name, name))
            return os_policy_registry[i];
    return NULL;
}

void os_policy_names_not_translating(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; os_policy_registry[i]; i++)
        if (!os_policy_registry[i]->translates && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "|" : "",
                                    os_policy_registry[i]->name);
}
