/* config.c — the parameter tables, a configuration's lifetime and --set.
 *
 * A parameter is a row of iosim_param_t (config.h).  Its dotted path
 * names both the nesting in YAML (vtd: iotlb: sets: 8) and the --set key
 * (vtd.iotlb.sets=8).  A "group" is any proper prefix of a path (vtd,
 * vtd.iotlb).  Text -> value conversion (config_codec.c) is shared by the
 * defaults, the loader (config_load.c) and --set, so every route checks
 * the same type, range and choices.  Every row has a default (no
 * required parameters today).  The other jobs: config_internal.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* ------------------------------------------------------------------ */
/* Table access                                                        */
/* ------------------------------------------------------------------ */

const iosim_param_t *iosim_param_find(const char *path)
{
    FOR_EACH_PARAM(p)
    {
        if (strcmp(p->path, path) == 0)
            return p;
    }
    return NULL;
}

bool config_is_group(const char *path)
{
    size_t n = strlen(path);
    if (n == 0)
        return true;
    FOR_EACH_PARAM(p)
    {
        if (strncmp(p->path, path, n) == 0 && p->path[n] == '.')
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

iosim_config_t *iosim_config_new(void)
{
    iosim_config_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!iosim_param_table_list()) { /* plug-ins beyond IOSIM_PLUGIN_AREA */
        free(c);
        return NULL;
    }
    FOR_EACH_PARAM(p)
    {
        char why[WHY_LEN];
        /* A default that does not parse is a table bug; the unit test
         * checks every row, so refuse rather than run half-initialized. */
        if (p->def && iosim_param_assign(c, p, p->def, why, sizeof why) != 0) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* struct iosim_config is plain data (no pointers), so a copy is deep. */
iosim_config_t *iosim_config_clone(const iosim_config_t *c)
{
    iosim_config_t *copy = malloc(sizeof *copy);
    if (copy)
        memcpy(copy, c, sizeof *copy);
    return copy;
}

void iosim_config_free(iosim_config_t *c) { free(c); }

/* ------------------------------------------------------------------ */
/* --set                                                               */
/* ------------------------------------------------------------------ */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, n - lead + 1);
}

int iosim_config_set(iosim_config_t *c, const char *assignment,
                     iosim_err_t *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        char q[QUOTE_MAX + 8];
        config_quote(assignment, q, sizeof q);
        return iosim_err_set(err, "--set: expected key=value, got %s", q);
    }
    char key[PATH_MAX_LEN], value[PATH_MAX_LEN];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof key || strlen(eq + 1) >= sizeof value)
        return iosim_err_set(err, "--set: assignment too long");
    memcpy(key, assignment, klen);
    key[klen] = '\0';
    snprintf(value, sizeof value, "%s", eq + 1);
    trim(key);
    trim(value);

    const iosim_param_t *p = iosim_param_find(key);
    if (!p) {
        /* the same nearest key the YAML loader suggests */
        char near[PATH_MAX_LEN];
        if (config_suggest(key, near, sizeof near) && strcmp(near, key) != 0)
            return iosim_err_set(err,
                                 "--set %s: no such key (did you mean "
                                 "%s?)",
                                 key, near);
        return iosim_err_set(err, "--set %s: no such key", key);
    }
    char why[WHY_LEN];
    if (iosim_param_assign(c, p, value, why, sizeof why) != 0)
        return iosim_err_set(err, "--set %s: %s", key, why);
    config_mark_given(c, p);
    return 0;
}

bool iosim_config_given(const iosim_config_t *c, const char *key)
{
    const iosim_param_t *p = iosim_param_find(key);
    size_t i = p ? config_param_index(p) : IOSIM_PARAM_ROWS_MAX;
    return i < IOSIM_PARAM_ROWS_MAX && (c->given[i / 64] >> (i % 64) & 1);
}

/* ------------------------------------------------------------------ */
/* Settings a trace implies                                            */
/* ------------------------------------------------------------------ */

int iosim_config_apply_trace(iosim_config_t *c, const iosim_trace_meta_t *meta,
                             iosim_err_t *err)
{
    size_t applied = 0;
    for (uint32_t k = 0; meta && k < meta->n_implies; k++) {
        const char *key = meta->implies[k].key, *val = meta->implies[k].value;
        const iosim_param_t *p = iosim_param_find(key);
        char why[WHY_LEN];
        if (!p)
            return iosim_err_key(err, "meta.implies",
                                 "%s=%s: no such configuration key", key, val);
        if (iosim_config_given(c, key))
            continue; /* the configuration's own value wins */
        if (iosim_param_assign(c, p, val, why, sizeof why) != 0)
            return iosim_err_key(err, "meta.implies", "%s=%s: %s", key, val,
                                 why);
        applied++;
    }
    iosim_err_t bad = {0};
    if (applied && iosim_config_validate(c, &bad))
        return iosim_err_key(err, "meta.implies",
                             "%s (with the settings the trace implies "
                             "applied)",
                             bad.msg);
    return 0;
}
