/* plugin_hooks.h — what the test build of the library (tests/plugin/
 * CMakeLists.txt) adds to the registries: read first by every file of
 * that build (-include), so that neither sim/os/os_registry.c nor
 * sim/include/iosim_costs.h has to name the example.
 *
 * Concepts: IOSIM_CPU_COSTS_EXTRA appends cost causes after the built-in
 *   ones (iosim_costs.h); IOSIM_OS_POLICIES_EXTRA appends policies to
 *   os_policy_registry (os_registry.c).  A scheme of the product instead
 *   takes one line in each of those two lists.
 * Assumptions: every object of the build and of the programs linked with
 *   it sees the same lists (the counter indices depend on them).
 * Not modeled: registration at run time.
 */
#ifndef IOSIM_PLUGIN_HOOKS_H
#define IOSIM_PLUGIN_HOOKS_H

// clang-format off
#define IOSIM_CPU_COSTS_EXTRA(C, A)                                            \
    C(A, EXAMPLE_CHECK, example_check, "example scheme's check",               \
      "CPU cycles of the example scheme's check of each unmapped buffer "     \
      "(tests/plugin)")
// clang-format on

struct os_policy_ops;
extern const struct os_policy_ops os_policy_example;
#define IOSIM_OS_POLICIES_EXTRA &os_policy_example,

#endif
