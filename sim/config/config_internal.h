/* config_internal.h — what the files of sim/config/ share.
 *
 * Concepts: the configuration is split by job, every file driven by the
 *   same parameter tables (config.h):
 *   - config.c          the tables, a configuration's lifetime, --set;
 *   - config_codec.c    text <-> typed value, "did you mean";
 *   - config_load.c     a YAML file -> values (libyaml, bounded input);
 *   - config_validate.c model rules across parameters, the plug-ins'
 *                       validate hooks;
 *   - config_echo.c     the effective configuration as text / JSON / CSV
 *                       (through base/json and base/csv), the reference
 *                       table of --help-config.
 * Assumptions: included only by the files of sim/config/.
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_CONFIG_INTERNAL_H
#define IOSIM_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Longest dotted path, and longest formatted value, handled. */
#define PATH_MAX_LEN 256
#define WHY_LEN 256
/* How much of an offending value is quoted back in a message. */
#define QUOTE_MAX 64

/* The tables as the registries assembled them (plugin_params.c);
 * iosim_config_new() refuses to make a configuration when that failed. */
// clang-format off
#define FOR_EACH_PARAM(p)                                                    \
    for (const iosim_param_t *const *tab_ = iosim_param_table_list();        \
         tab_ && *tab_; tab_++)                                              \
        for (const iosim_param_t *p = *tab_; p->path; p++)
// clang-format on

/* Records that the configuration's source (file, --set, an item) gave
 * row p its value (struct iosim_config.given). */
static inline void config_mark_given(iosim_config_t *c, const iosim_param_t *p)
{
    size_t i = config_param_index(p);
    if (i < IOSIM_PARAM_ROWS_MAX)
        c->given[i / 64] |= 1ULL << (i % 64);
}

/* True if path is a proper prefix (ending at a dot) of some parameter. */
bool config_is_group(const char *path);

/* Does the row give a [min, max] range (min > max: none)? */
static inline bool config_has_range(const iosim_param_t *p)
{
    return p->min <= p->max;
}

/* Numbers in messages and the reference: integers without exponent. */
void config_format_number(double v, char *buf, size_t n);

/* Quotes text back into a message ('text'), shortened if long. */
void config_quote(const char *text, char *buf, size_t n);

#endif /* IOSIM_CONFIG_INTERNAL_H */
