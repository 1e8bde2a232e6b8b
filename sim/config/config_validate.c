/* config_validate.c — the rules a configuration must meet beyond each
 * row's own type and range: cache geometry, page-table levels, the
 * translation type against the root-table mode, the registries' names,
 * and whatever the selected plug-ins require (their validate hooks).
 * The first violation is reported, naming the key.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config_internal.h"

/* The registries that own the free-text selectors (os.policy, hv.mode,
 * dev.model). */
#include "cache/cache.h"
#include "dev/dev.h"
#include "hv/hv.h"
#include "os/os.h"

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* Whether a name is one its registry knows (dev.model also takes "auto"
 * and "none", which select no model of the registry). */
static bool dev_model_known(const char *name)
{
    return !strcmp(name, "auto") || !strcmp(name, "none") ||
           dev_model_find(name);
}
static bool os_policy_known(const char *name)
{
    return os_policy_find(name) != NULL;
}
static bool hv_mode_known(const char *name)
{
    return hv_mode_find(name) != NULL;
}

/* key's value must be a name its registry knows; the message lists the
 * names (iosim_registry_names) after the noun of what was asked for. */
static int registry_name(iosim_err_t *err, const char *key, const char *noun,
                         const char *value, bool (*known)(const char *))
{
    if (known(value))
        return 0;
    char names[512];
    iosim_registry_names(key, names, sizeof names);
    return iosim_err_key(err, key, "unknown %s '%s' (one of %s)", noun, value,
                         names);
}

static int check_cache(const iosim_cache_params_t *cp, const char *name,
                       iosim_err_t *err)
{
    if (!cp->enabled)
        return 0;
    if ((uint64_t)cp->sets * cp->ways == 0)
        return iosim_err_key(err, name,
                             "sets x ways is 0 (%" PRIu32 " x %" PRIu32
                             ") but the cache is enabled",
                             cp->sets, cp->ways);
    char key[96];
    if (!is_pow2(cp->sets)) {
        snprintf(key, sizeof key, "%s.sets", name);
        return iosim_err_key(err, key,
                             "%" PRIu32 " is not a power of two "
                             "(the set index is a bit field)",
                             cp->sets);
    }
    const cache_repl_ops_t *repl = cache_repl_find(cp->replacement);
    if (repl && repl->kind == CACHE_REPL_PLRU && !is_pow2(cp->ways)) {
        snprintf(key, sizeof key, "%s.ways", name);
        return iosim_err_key(err, key,
                             "%" PRIu32 " is not a power of two, "
                             "which tree pseudo-LRU needs",
                             cp->ways);
    }
    return 0;
}

int iosim_config_validate(const iosim_config_t *c, iosim_err_t *err)
{
    /* Every value once more against its row: catches values written into
     * the struct directly by a program rather than through assign. */
    FOR_EACH_PARAM(p)
    {
        if (config_param_ok(c, p))
            continue; /* certain without the round trip (a sweep makes
                         and validates a configuration per point) */
        char text[PATH_MAX_LEN], why[WHY_LEN];
        iosim_config_t probe = *c;
        iosim_param_format(c, p, text, sizeof text);
        if (iosim_param_assign(&probe, p, text, why, sizeof why) != 0)
            return iosim_err_key(err, p->path, "%s", why);
    }

    static const struct {
        const char *name;
        size_t offset;
    } caches[] = {
#define IOSIM_X_CACHE(id, name, field, seed)                                   \
    {name, offsetof(struct iosim_config, field)},
        IOSIM_VTD_CACHES(IOSIM_X_CACHE)
#undef IOSIM_X_CACHE
    };
    uint32_t e = c->vtd.iotlb_entries;
    if (e && c->vtd.iotlb.ways && e % c->vtd.iotlb.ways)
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " is not "
                             "a multiple of vtd.iotlb.ways (%" PRIu32 ")",
                             e, c->vtd.iotlb.ways);
    if (e && (uint64_t)c->vtd.iotlb.sets * c->vtd.iotlb.ways != e)
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " but "
                             "vtd.iotlb.sets x ways is %" PRIu32 " x %" PRIu32
                             " (give sets or entries, not both)",
                             e, c->vtd.iotlb.sets, c->vtd.iotlb.ways);
    if (e && !is_pow2(c->vtd.iotlb.sets))
        return iosim_err_key(err, "vtd.iotlb.entries",
                             "%" PRIu32 " / %" PRIu32 " ways = %" PRIu32
                             " sets, not a power "
                             "of two (the set index is a bit field)",
                             e, c->vtd.iotlb.ways, c->vtd.iotlb.sets);
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const iosim_cache_params_t *cp =
            (const iosim_cache_params_t *)((const char *)c + caches[i].offset);
        if (check_cache(cp, caches[i].name, err) != 0)
            return -1;
    }

    /* MODEL.md §3.2: first stage 4 or 5 levels; second stage agaw+2. */
    if (c->vtd.fs_levels != 4 && c->vtd.fs_levels != 5)
        return iosim_err_key(err, "vtd.fs_levels", "%" PRIu32 " is not 4 or 5",
                             c->vtd.fs_levels);
    if (c->vtd.ss_levels < 3 || c->vtd.ss_levels > 5)
        return iosim_err_key(err, "vtd.ss_levels",
                             "%" PRIu32 " is not 3, 4 or 5", c->vtd.ss_levels);
    /* First-stage and nested translation are selected by the PGTT field of
     * a scalable-mode PASID entry (MODEL.md §3.1); legacy context entries
     * only know second-stage and pass-through. */
    if ((strcmp(c->vtd.translation, "first-stage") == 0 ||
         strcmp(c->vtd.translation, "nested") == 0) &&
        strcmp(c->vtd.root_mode, "scalable") != 0)
        return iosim_err_key(err, "vtd.translation",
                             "%s needs vtd.root_mode "
                             "scalable (PGTT is a PASID-entry field)",
                             c->vtd.translation);
    /* dma-iommu.c masks the ring index with size-1 (MODEL.md §1.4). */
    if (!is_pow2(c->os.fq_size))
        return iosim_err_key(err, "os.fq_size",
                             "%" PRIu32 " is not a power of two",
                             c->os.fq_size);
    /* read when a sim is made (os_kernel_resolve); checked here so that
     * the error names the file and line that gave it */
    if (os_kernel_check_batch(c->os.strict_batch_set, err))
        return -1;
    if (registry_name(err, "dev.model", "device model", c->dev.model,
                      dev_model_known) ||
        registry_name(err, "os.policy", "policy", c->os.policy,
                      os_policy_known) ||
        registry_name(err, "hv.mode", "mode", c->hv.mode, hv_mode_known))
        return -1;
    /* Nested translation (PGTT=011b) needs a host second stage under the
     * guest's first stage, which only a two_stage mode builds (hv.h).  Any
     * other mode would translate the guest's IOVAs with an empty host stage
     * (every DMA a fault), so the contradiction is an error, not a silent
     * run. */
    if (strcmp(c->vtd.translation, "nested") == 0 &&
        !hv_mode_find(c->hv.mode)->two_stage) {
        char names[128];
        hv_mode_names_two_stage(names, sizeof names);
        return iosim_err_key(err, "vtd.translation",
                             "nested needs hv.mode %s "
                             "(hv.mode %s translates with one stage)",
                             names, c->hv.mode);
    }
    /* what the selected policy and mode require (their validate hooks) */
    return iosim_plugins_validate(c, err);
}
