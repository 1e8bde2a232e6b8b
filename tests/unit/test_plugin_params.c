/* test_plugin_params.c — the parameter tables as the registries assemble
 * them (sim/config/plugin_params.c).
 *
 * Concepts: a plug-in's rows land in the configuration's plug-in area:
 *   --set writes the plug-in's own struct (read back through
 *   iosim_plugin_params), each plug-in's slot is its own (no two slots
 *   overlap, a plug-in's rows stay in its struct), the replacement rows accept
 * exactly the replacement registry's names, every cache of IOSIM_VTD_CACHES has
 * its five rows, and the selected mode's validate hook runs. Assumptions: the
 * shipped registries (fands, vhost-iotlb, nested). Not modeled: plug-ins
 * registered by a test build (tests/plugin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/cache.h"
#include "config/config.h"
#include "dev/dev.h"
#include "hv/hv.h"
#include "iosim.h"
#include "os/os.h"
#include "trace/gen.h"
#include "trace/import.h"

/* --set of a plug-in's row changes the plug-in's struct and nothing
 * else: the row's field is at its declared offset in the struct that
 * iosim_plugin_params returns. */
static void test_set_reaches_plugin_struct(void **st)
{
    (void)st;
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    const os_policy_ops_t *vh = os_policy_find("vhost-iotlb");
    assert_non_null(vh);
    const iosim_param_t *rows = vh->params.rows;
    const iosim_param_t *entries = NULL;
    for (const iosim_param_t *p = rows; p->path; p++)
        if (!strcmp(p->path, "scheme.vhost_entries"))
            entries = p;
    assert_non_null(entries);
    const char *area = iosim_plugin_params(c, rows);
    assert_non_null(area);
    assert_true(area >= (const char *)c->plugin &&
                area + vh->params.size <=
                    (const char *)c->plugin + IOSIM_PLUGIN_AREA);
    uint32_t v;
    memcpy(&v, area + entries->offset, sizeof v);
    assert_int_equal(v, 2048); /* the row's default */
    iosim_config_t *before = iosim_config_clone(c);
    iosim_err_t err;
    assert_int_equal(iosim_config_set(c, "scheme.vhost_entries=77", &err), 0);
    memcpy(&v, area + entries->offset, sizeof v);
    assert_int_equal(v, 77);
    /* exactly the four bytes of that field changed */
    size_t changed = 0;
    for (size_t i = 0; i < sizeof *c; i++)
        changed += ((const char *)c)[i] != ((const char *)before)[i];
    assert_in_range(changed, 1, sizeof v);
    /* a nested mode's row too */
    const hv_mode_ops_t *nested = hv_mode_find("nested");
    const bool *trap = iosim_plugin_params(c, nested->params.rows);
    assert_non_null(trap);
    assert_true(*trap);
    assert_int_equal(iosim_config_set(c, "hv.trap_invalidations=false", &err),
                     0);
    assert_false(*trap);
    iosim_config_free(before);
    iosim_config_free(c);
}

/* Each plug-in's struct has a slot of its own inside the plug-in area,
 * and its rows fall inside its struct (a slot overlapping another
 * plug-in's would corrupt it). */
static void add_slot(const iosim_config_t *c, const iosim_plugin_params_t *pp,
                     const char **lo, const char **hi, size_t *n)
{
    if (!pp->rows)
        return;
    const char *a = iosim_plugin_params(c, pp->rows);
    assert_non_null(a);
    assert_true(a >= (const char *)c->plugin &&
                a + pp->size <= (const char *)c->plugin + IOSIM_PLUGIN_AREA);
    for (const iosim_param_t *p = pp->rows; p->path; p++)
        if (p->offset >= pp->size)
            fail_msg("%s lies outside its plug-in's struct", p->path);
    for (size_t i = 0; i < *n; i++)
        assert_true(a + pp->size <= lo[i] || a >= hi[i]);
    lo[*n] = a;
    hi[*n] = a + pp->size;
    (*n)++;
}

static void test_slots_disjoint(void **st)
{
    (void)st;
    iosim_config_t *c = iosim_config_new();
    const char *lo[64], *hi[64];
    size_t n = 0;
    for (size_t i = 0; hv_mode_registry[i]; i++)
        add_slot(c, &hv_mode_registry[i]->params, lo, hi, &n);
    for (size_t i = 0; os_policy_registry[i]; i++)
        add_slot(c, &os_policy_registry[i]->params, lo, hi, &n);
    assert_true(n >= 5); /* nested, fands, coiommu, optimistic, vhost */
    iosim_config_free(c);
}

/* vtd.*.replacement accepts each registered policy and nothing else. */
static void test_replacement_from_registry(void **st)
{
    (void)st;
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err;
    char set[96];
    for (size_t i = 0; cache_repl_registry[i]; i++) {
        snprintf(set, sizeof set, "vtd.iotlb.replacement=%s",
                 cache_repl_registry[i]->name);
        assert_int_equal(iosim_config_set(c, set, &err), 0);
    }
    assert_int_not_equal(iosim_config_set(c, "vtd.iotlb.replacement=mru", &err),
                         0);
    iosim_config_free(c);
}

/* Each cache of the one list has its five rows. */
static void test_cache_list_has_rows(void **st)
{
    (void)st;
    static const char *const names[] = {
#define X(id, name, field, off) name,
        IOSIM_VTD_CACHES(X)
#undef X
    };
    static const char *const leaves[] = {"enabled", "sets", "ways",
                                         "replacement", "hit_ns"};
    assert_int_equal(sizeof names / sizeof names[0], IOSIM_CACHE_COUNT);
    for (size_t i = 0; i < IOSIM_CACHE_COUNT; i++)
        for (size_t j = 0; j < 5; j++) {
            char path[96];
            snprintf(path, sizeof path, "%s.%s", names[i], leaves[j]);
            if (!iosim_param_find(path))
                fail_msg("no row %s", path);
        }
}

/* The selectors' names come from the registries. */
static void test_registry_names(void **st)
{
    (void)st;
    char buf[512], want[512] = "";
    assert_true(iosim_registry_names("os.policy", buf, sizeof buf));
    for (size_t i = 0; os_policy_registry[i]; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
                 i ? "|" : "", os_policy_registry[i]->name);
    assert_string_equal(buf, want);
    assert_true(iosim_registry_names("dev.model", buf, sizeof buf));
    assert_int_equal(strncmp(buf, "auto|none|", 10), 0);
    assert_non_null(strstr(buf, "|touch"));
    assert_true(
        iosim_registry_names("vtd.s2_tlb.replacement", buf, sizeof buf));
    assert_string_equal(iosim_param_find("vtd.iotlb.replacement")->choices,
                        buf);
    assert_true(iosim_registry_names("hv.mode", buf, sizeof buf));
    assert_non_null(strstr(buf, "nested"));
    assert_false(iosim_registry_names("vtd.iotlb.sets", buf, sizeof buf));
    assert_string_equal(buf, "");
    /* a short buffer stays terminated */
    char small[8];
    assert_true(iosim_registry_names("os.policy", small, sizeof small));
    assert_true(strlen(small) < sizeof small);
}

/* A mode's validate hook runs when the mode is selected, and only then. */
static void test_mode_validate_hook(void **st)
{
    (void)st;
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err;
    assert_int_equal(iosim_config_set(c, "hv.mode=guest-passthrough", &err), 0);
    assert_int_equal(iosim_config_set(c, "os.policy=strict", &err), 0);
    assert_int_not_equal(iosim_config_validate(c, &err), 0);
    assert_string_equal(err.key, "hv.mode");
    assert_int_equal(iosim_config_set(c, "os.policy=passthrough", &err), 0);
    assert_int_equal(iosim_config_validate(c, &err), 0);
    assert_int_equal(iosim_config_set(c, "hv.mode=none", &err), 0);
    assert_int_equal(iosim_config_set(c, "os.policy=strict", &err), 0);
    assert_int_equal(iosim_config_validate(c, &err), 0);
    iosim_config_free(c);
}

/* Whether path is a row of the assembled tables (the ones the loader,
 * --set, the echo and --help-config read). */
static bool row_listed(const char *path)
{
    const iosim_param_t *const *t = iosim_param_table_list();
    assert_non_null(t);
    for (; *t; t++)
        for (const iosim_param_t *r = *t; r->path; r++)
            if (!strcmp(r->path, path))
                return true;
    return false;
}

/* One plug-in's self-description: its rows are in the assembled tables
 * and have a struct in the config, and each implied setting is a valid
 * --set of a fresh configuration. */
static void check_plugin(const char *name, const iosim_plugin_params_t *pp)
{
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    if (pp->rows && pp->rows[0].path)
        assert_non_null(iosim_plugin_params(c, pp->rows));
    for (size_t k = 0; pp->rows && pp->rows[k].path; k++)
        if (!row_listed(pp->rows[k].path))
            fail_msg("%s: row %s not in the tables", name, pp->rows[k].path);
    iosim_err_t err;
    if (iosim_plugin_apply_implies(c, pp, &err))
        fail_msg("%s: implies: %s", name, err.msg);
    iosim_config_free(c);
}

/* Every entry of every registry carries the three members: the config
 * plug-ins (OS policies, modes, device models, replacement policies) an
 * iosim_plugin_params_t, generators and importers an option table (rows
 * with defaults that parse) and their check. */
static void test_every_registry_entry(void **st)
{
    (void)st;
    size_t n = 0;
    for (size_t i = 0; os_policy_registry[i]; i++, n++)
        check_plugin(os_policy_registry[i]->name,
                     &os_policy_registry[i]->params);
    for (size_t i = 0; hv_mode_registry[i]; i++, n++)
        check_plugin(hv_mode_registry[i]->name, &hv_mode_registry[i]->params);
    for (size_t i = 0; dev_model_registry[i]; i++, n++)
        check_plugin(dev_model_registry[i]->name,
                     &dev_model_registry[i]->params);
    for (size_t i = 0; cache_repl_registry[i]; i++, n++)
        check_plugin(cache_repl_registry[i]->name,
                     &cache_repl_registry[i]->params);
    assert_true(n >= 4);
    for (size_t i = 0; gen_kinds[i]; i++) {
        const gen_kind_t *k = gen_kinds[i];
        assert_non_null(k->params);
        assert_non_null(k->validate);
        void *opts = calloc(1, k->size);
        iosim_err_t err;
        assert_int_equal(gen_kind_defaults(k, opts, &err), 0);
        for (size_t r = 0; k->params[r].name; r++)
            assert_ptr_equal(gen_param_find(k->params, k->params[r].name),
                             &k->params[r]);
        free(opts);
    }
    for (size_t i = 0; import_sources[i]; i++)
        for (size_t r = 0;
             import_sources[i]->params && import_sources[i]->params[r].name;
             r++)
            assert_ptr_equal(gen_param_find(import_sources[i]->params,
                                            import_sources[i]->params[r].name),
                             &import_sources[i]->params[r]);
}

/* An item's mode brings its settings over the base (emulated sets CM,
 * none clears it, nested selects nested translation in scalable mode:
 * PGTT=011b lives in a scalable-mode PASID entry, MODEL.md §3.1), and
 * the shared
 * application sets any plug-in's implied settings in order, the later
 * winning, and names a setting that does not parse. */
static void test_implies_applied(void **st)
{
    (void)st;
    iosim_config_t *base = iosim_config_new(), *c = NULL;
    iosim_err_t err;
    iosim_point_t pt = {0};
    snprintf(pt.item, sizeof pt.item, "strict@emulated");
    assert_int_equal(iosim_point_config(base, &pt, &c, &err), 0);
    assert_true(c->vtd.caching_mode);
    iosim_config_free(c);
    assert_int_equal(iosim_config_set(base, "vtd.caching_mode=true", &err), 0);
    snprintf(pt.item, sizeof pt.item, "strict@none");
    assert_int_equal(iosim_point_config(base, &pt, &c, &err), 0);
    assert_false(c->vtd.caching_mode);
    iosim_config_free(c);
    snprintf(pt.item, sizeof pt.item, "strict@nested");
    assert_int_equal(iosim_point_config(base, &pt, &c, &err), 0);
    assert_string_equal(c->vtd.translation, "nested");
    assert_string_equal(c->vtd.root_mode, "scalable");
    iosim_config_free(c);

    static const char *const imp[] = {"vtd.iotlb.ways=2", "vtd.iotlb.ways=16",
                                      NULL};
    const iosim_plugin_params_t pp = {.implies = imp};
    assert_int_equal(iosim_plugin_apply_implies(base, &pp, &err), 0);
    assert_int_equal(base->vtd.iotlb.ways, 16);
    static const char *const bad[] = {"vtd.iotlb.wayz=2", NULL};
    const iosim_plugin_params_t pb = {.implies = bad};
    assert_int_not_equal(iosim_plugin_apply_implies(base, &pb, &err), 0);
    assert_non_null(strstr(err.msg, "vtd.iotlb.wayz"));
    iosim_config_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_reaches_plugin_struct),
        cmocka_unit_test(test_slots_disjoint),
        cmocka_unit_test(test_replacement_from_registry),
        cmocka_unit_test(test_cache_list_has_rows),
        cmocka_unit_test(test_mode_validate_hook),
        cmocka_unit_test(test_registry_names),
        cmocka_unit_test(test_every_registry_entry),
        cmocka_unit_test(test_implies_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
