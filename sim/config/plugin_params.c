/* plugin_params.c — the parameter tables as the registries make them: the
 * components' own tables plus the rows each registered plug-in carries.
 *
 * Concepts:
 *   - A plug-in (OS policy or scheme, hypervisor mode, device model,
 *     replacement policy) declares its rows
 *     with offsets into a struct of its own (iosim_plugin_params_t in its
 *     ops struct).  Here each such struct gets a slot of struct
 *     iosim_config.plugin, in registry order, and its rows are copied with
 *     the slot's offset added, so that the loader, --set, the echo and
 *     --help-config treat them as any other row.
 *   - Rows whose choices are the replacement-policy registry
 *     (iosim_choices_repl) get the registry's names; hv.host_policy's
 *     (iosim_choices_host_policy) the OS policies a Linux host has.
 *   - The result is built once (pthread_once) and never changes: plug-ins
 *     registered at run time must be registered before the first
 *     configuration is made.
 * Assumptions: the plug-ins' structs fit IOSIM_PLUGIN_AREA together; a
 *   plug-in's rows all belong to one group that follows its component's
 *   rows (the echo's JSON nesting needs each group contiguous).
 * Not modeled: unloading a plug-in.
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "cache/cache.h"
#include "config/config.h"
#include "dev/dev.h"
#include "hv/hv.h"
#include "os/os.h"

const char iosim_choices_repl[] = "(the replacement-policy registry)";
const char iosim_choices_host_policy[] = "(the OS policies a Linux host has)";

#define MAX_TABLES 64
#define MAX_SLOTS 64

static struct {
    const iosim_param_t *tables[MAX_TABLES + 1];
    size_t ntables;
    iosim_param_t rows[IOSIM_PARAM_ROWS_MAX]; /* copies, relocated */
    size_t nrows;
    struct {
        const iosim_param_t *rows; /* as the plug-in declared them */
        size_t offset;             /* of its struct in the config */
    } slot[MAX_SLOTS];
    size_t nslots;
    size_t area_used;
    char repl_choices[256];
    char host_choices[256];
    bool failed;
} L;

static pthread_once_t L_once = PTHREAD_ONCE_INIT;

/* Copies the NULL-path ended rows, adding base to every offset and
 * resolving registry choices; the copy becomes one table. */
static void add_table(const iosim_param_t *rows, size_t base)
{
    size_t n = 0;
    while (rows[n].path)
        n++;
    if (L.ntables == MAX_TABLES || L.nrows + n + 1 > IOSIM_PARAM_ROWS_MAX) {
        L.failed = true;
        return;
    }
    iosim_param_t *copy = &L.rows[L.nrows];
    for (size_t i = 0; i <= n; i++) {
        copy[i] = rows[i];
        if (i < n) {
            copy[i].offset += base;
            if (copy[i].choices == iosim_choices_repl)
                copy[i].choices = L.repl_choices;
            else if (copy[i].choices == iosim_choices_host_policy)
                copy[i].choices = L.host_choices;
        }
    }
    L.nrows += n + 1;
    L.tables[L.ntables++] = copy;
}

/* A slot of the plug-in area for the struct of pp, and its rows. */
static void add_plugin(const iosim_plugin_params_t *pp)
{
    if (!pp->rows)
        return;
    size_t off = (L.area_used + IOSIM_PLUGIN_ALIGN - 1) &
                 ~(size_t)(IOSIM_PLUGIN_ALIGN - 1);
    if (L.nslots == MAX_SLOTS || off + pp->size > IOSIM_PLUGIN_AREA) {
        L.failed = true;
        return;
    }
    L.area_used = off + pp->size;
    L.slot[L.nslots].rows = pp->rows;
    L.slot[L.nslots].offset = offsetof(struct iosim_config, plugin) + off;
    L.nslots++;
    add_table(pp->rows, offsetof(struct iosim_config, plugin) + off);
}

static void assemble(void)
{
    for (size_t i = 0; cache_repl_registry[i]; i++) {
        size_t len = strlen(L.repl_choices);
        snprintf(L.repl_choices + len, sizeof L.repl_choices - len, "%s%s",
                 i ? "|" : "", cache_repl_registry[i]->name);
    }
    iosim_registry_names("hv.host_policy", L.host_choices,
                         sizeof L.host_choices);
    add_table(iosim_params_sim, 0);
    add_table(iosim_params_vtd, 0);
    add_table(iosim_params_os, 0);
    add_table(iosim_params_hv, 0);
    for (size_t i = 0; hv_mode_registry[i]; i++)
        add_plugin(&hv_mode_registry[i]->params);
    for (size_t i = 0; os_policy_registry[i]; i++)
        add_plugin(&os_policy_registry[i]->params);
    add_table(iosim_params_dev, 0);
    for (size_t i = 0; dev_model_registry[i]; i++)
        add_plugin(&dev_model_registry[i]->params);
    for (size_t i = 0; cache_repl_registry[i]; i++)
        add_plugin(&cache_repl_registry[i]->params);
    L.tables[L.ntables] = NULL;
}

const iosim_param_t *const *iosim_param_table_list(void)
{
    pthread_once(&L_once, assemble);
    return L.failed ? NULL : L.tables;
}

size_t config_param_index(const iosim_param_t *p)
{
    pthread_once(&L_once, assemble);
    if (p < L.rows || p >= L.rows + L.nrows)
        return IOSIM_PARAM_ROWS_MAX;
    return (size_t)(p - L.rows);
}

const void *iosim_plugin_params(const iosim_config_t *c,
                                const iosim_param_t *rows)
{
    pthread_once(&L_once, assemble);
    for (size_t i = 0; i < L.nslots; i++)
        if (L.slot[i].rows == rows)
            return (const char *)c + L.slot[i].offset;
    return NULL;
}

/* Appends name to the '|'-separated list in buf. */
static void names_add(char *buf, size_t n, size_t *len, const char *name)
{
    if (*len < n)
        *len += (size_t)snprintf(buf + *len, n - *len, "%s%s", *len ? "|" : "",
                                 name);
}

bool iosim_registry_names(const char *path, char *buf, size_t n)
{
    size_t len = 0;
    if (n)
        buf[0] = '\0';
    size_t plen = strlen(path);
    const char *leaf = ".replacement";
    if (!strcmp(path, "os.policy")) {
        for (size_t i = 0; os_policy_registry[i]; i++)
            names_add(buf, n, &len, os_policy_registry[i]->name);
    } else if (!strcmp(path, "hv.mode")) {
        for (size_t i = 0; hv_mode_registry[i]; i++)
            names_add(buf, n, &len, hv_mode_registry[i]->name);
    } else if (!strcmp(path, "dev.model")) {
        names_add(buf, n, &len, "auto");
        names_add(buf, n, &len, "none");
        for (size_t i = 0; dev_model_registry[i]; i++)
            names_add(buf, n, &len, dev_model_registry[i]->name);
    } else if (!strcmp(path, "hv.host_policy")) {
        for (size_t i = 0; os_policy_registry[i]; i++)
            if (os_policy_registry[i]->capture.boot &&
                os_policy_registry[i]->translates)
                names_add(buf, n, &len, os_policy_registry[i]->name);
    } else if (plen > strlen(leaf) &&
               !strcmp(path + plen - strlen(leaf), leaf)) {
        for (size_t i = 0; cache_repl_registry[i]; i++)
            names_add(buf, n, &len, cache_repl_registry[i]->name);
    } else {
        return false;
    }
    return true;
}

const iosim_plugin_params_t *iosim_registry_plugin(const char *path,
                                                   const char *name)
{
    size_t plen = strlen(path);
    const char *leaf = ".replacement";
    if (!strcmp(path, "os.policy")) {
        const os_policy_ops_t *p = os_policy_find(name);
        return p ? &p->params : NULL;
    }
    if (!strcmp(path, "hv.mode")) {
        const hv_mode_ops_t *m = hv_mode_find(name);
        return m ? &m->params : NULL;
    }
    if (!strcmp(path, "dev.model")) {
        const dev_model_ops_t *d = dev_model_find(name);
        return d ? &d->params : NULL;
    }
    if (plen > strlen(leaf) && !strcmp(path + plen - strlen(leaf), leaf))
        for (size_t i = 0; cache_repl_registry[i]; i++)
            if (!strcmp(cache_repl_registry[i]->name, name))
                return &cache_repl_registry[i]->params;
    return NULL;
}

int iosim_plugin_apply_implies(iosim_config_t *c,
                               const iosim_plugin_params_t *pp,
                               iosim_err_t *err)
{
    for (size_t k = 0; pp->implies && pp->implies[k]; k++)
        if (iosim_config_set(c, pp->implies[k], err))
            return -1;
    return 0;
}

static int run_validate(const iosim_config_t *c,
                        const iosim_plugin_params_t *pp, iosim_err_t *err)
{
    if (!pp->validate)
        return 0;
    return pp->validate(c, pp->rows ? iosim_plugin_params(c, pp->rows) : NULL,
                        err);
}

int iosim_plugins_validate(const iosim_config_t *c, iosim_err_t *err)
{
    const hv_mode_ops_t *hv = hv_mode_find(c->hv.mode);
    if (hv && run_validate(c, &hv->params, err))
        return -1;
    const os_policy_ops_t *os = os_policy_find(c->os.policy);
    if (os && run_validate(c, &os->params, err))
        return -1;
    for (size_t i = 0; dev_model_registry[i]; i++)
        if (run_validate(c, &dev_model_registry[i]->params, err))
            return -1;
    /* each cache picks its own policy: every policy's check runs */
    for (size_t i = 0; cache_repl_registry[i]; i++)
        if (run_validate(c, &cache_repl_registry[i]->params, err))
            return -1;
    return 0;
}
