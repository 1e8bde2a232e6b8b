/* os_registry.c — the list of guest-OS DMA policies and schemes (one line
 * per policy; the policy lives in its own file). */
#include <string.h>

#include "os/os.h"

/* The policies, one line each: X(name) names the ops struct
 * os_policy_<name> its own file defines, in registry order. */
// clang-format off
#define OS_POLICIES(X)                                                         \
    X(strict)                                                                  \
    X(lazy)                                                                    \
    X(passthrough)                                                             \
    X(trace)                                                                   \
    X(fands)                                                                   \
    X(coiommu)                                                                 \
    X(optimistic)                                                              \
    X(static)                                                                  \
    X(vhost_iotlb)
// clang-format on

#define OS_POLICY_DECL(name) extern const os_policy_ops_t os_policy_##name;
OS_POLICIES(OS_POLICY_DECL)

/* A build may append policies of its own (tests/plugin/plugin_hooks.h). */
#ifndef IOSIM_OS_POLICIES_EXTRA
#define IOSIM_OS_POLICIES_EXTRA
#endif

#define OS_POLICY_ENTRY(name) &os_policy_##name,
const os_policy_ops_t *const os_policy_registry[] = {
    OS_POLICIES(OS_POLICY_ENTRY) IOSIM_OS_POLICIES_EXTRA NULL,
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
