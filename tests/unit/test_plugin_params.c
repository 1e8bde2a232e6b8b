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
#include <unistd.h>

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
    /* the message lists the registry's names, in its order */
    char want[256] = "expected one of ";
    size_t len = strlen(want);
    for (size_t i = 0; cache_repl_registry[i]; i++) {
        len += (size_t)snprintf(want + len, sizeof want - len, "%s%s",
                                i ? "|" : "", cache_repl_registry[i]->name);
        assert_true(len < sizeof want - 16);
    }
    snprintf(want + len, sizeof want - len, ", got 'mru'");
    assert_non_null(strstr(err.msg, want));
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

/* The text of key's value in c (iosim_param_format). */
static const char *value_of(const iosim_config_t *c, const char *key)
{
    static char buf[256];
    const iosim_param_t *p = iosim_param_find(key);
    assert_non_null(p);
    iosim_param_format(c, p, buf, sizeof buf);
    return buf;
}

/* The settings a trace implies (meta implies.*) reach every key the
 * configuration does not give: a key the YAML file or a --set gave keeps
 * its value, the others take the trace's; iosim_sim_new runs with them.
 * An unknown key, a value out of range and a combination the validation
 * refuses are errors keyed meta.implies. */
static void test_trace_implies(void **st)
{
    (void)st;
    char yaml[] = "/tmp/iosim_implies.XXXXXX";
    int fd = mkstemp(yaml);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("dev:\n  mlx5:\n    packet_bytes: 1514\n", f);
    fclose(f);
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err;
    assert_int_equal(iosim_config_load(c, yaml, &err), 0);
    unlink(yaml);
    assert_int_equal(iosim_config_set(c, "dev.mlx5.mps=256", &err), 0);
    assert_true(iosim_config_given(c, "dev.mlx5.packet_bytes"));
    assert_true(iosim_config_given(c, "dev.mlx5.mps"));
    assert_false(iosim_config_given(c, "dev.mlx5.stride"));
    assert_false(iosim_config_given(c, "no.such.key"));

    iosim_trace_meta_t m = {.has_dma = 0, .cpus = 1};
    snprintf(m.device, sizeof m.device, "mlx5");
    assert_int_equal(iosim_trace_meta_set_implies(&m, "dev.mlx5.mps", "4096"),
                     0);
    assert_int_equal(iosim_trace_meta_set_implies(&m, "dev.mlx5.stride", "64"),
                     0);
    assert_int_equal(
        iosim_trace_meta_set_implies(&m, "dev.mlx5.packet_bytes", "4110"), 0);
    iosim_config_t *a = iosim_config_clone(c);
    assert_int_equal(iosim_config_apply_trace(a, &m, &err), 0);
    assert_string_equal(value_of(a, "dev.mlx5.mps"), "256");
    assert_string_equal(value_of(a, "dev.mlx5.packet_bytes"), "1514");
    assert_string_equal(value_of(a, "dev.mlx5.stride"), "64");
    assert_false(iosim_config_given(a, "dev.mlx5.stride"));
    iosim_config_free(a);
    /* a sim made from the configuration runs with them */
    iosim_sim_t *s = iosim_sim_new(c, "t", &m, &err);
    assert_non_null(s);
    assert_string_equal(value_of(iosim_sim_config(s), "dev.mlx5.stride"), "64");
    assert_string_equal(value_of(iosim_sim_config(s), "dev.mlx5.mps"), "256");
    iosim_sim_free(s);
    assert_string_equal(value_of(c, "dev.mlx5.stride"), "2048");

    static const struct {
        const char *key, *value, *why;
    } bad[] = {
        {"dev.mlx5.strid", "64", "dev.mlx5.strid=64: no such configuration"},
        {"dev.mlx5.stride", "1", "dev.mlx5.stride=1: "},
        {"vtd.iotlb.sets", "3", "settings the trace implies"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iosim_trace_meta_t b = {.cpus = 1};
        assert_int_equal(
            iosim_trace_meta_set_implies(&b, bad[i].key, bad[i].value), 0);
        a = iosim_config_clone(c);
        memset(&err, 0, sizeof err);
        assert_int_equal(iosim_config_apply_trace(a, &b, &err), -1);
        assert_string_equal(err.key, "meta.implies");
        if (!strstr(err.msg, bad[i].why))
            fail_msg("case %zu: '%s'", i, err.msg);
        iosim_config_free(a);
        assert_null(iosim_sim_new(c, "t", &b, &err));
    }
    iosim_config_free(c);
}

/* The value the trace's metadata implies for key, or NULL. */
static const char *implied(const iosim_trace_meta_t *m, const char *key)
{
    for (uint32_t j = 0; j < m->n_implies; j++)
        if (!strcmp(m->implies[j].key, key))
            return m->implies[j].value;
    return NULL;
}

/* `gen nic` with the options args[] (value NULL: a flag) and extra
 * ("--opt=value" or NULL), run as the command runs it (defaults, options,
 * check, write), and the metadata of the trace it wrote into *m. */
static void nic_meta(const char *const (*args)[2], size_t nargs,
                     const char *extra, iosim_trace_meta_t *m)
{
    const gen_kind_t *k = gen_kind_find("nic");
    assert_non_null(k);
    void *opts = calloc(1, k->size);
    bool given[64] = {false};
    iosim_err_t err;
    assert_int_equal(gen_kind_defaults(k, opts, &err), 0);
    for (size_t i = 0; i <= nargs; i++) {
        char name[64];
        const char *val;
        if (i < nargs) {
            snprintf(name, sizeof name, "%s", args[i][0]);
            val = args[i][1];
        } else if (extra) {
            snprintf(name, sizeof name, "%s", extra);
            char *eq = strchr(name, '=');
            *eq = '\0';
            val = strchr(extra, '=') + 1;
        } else {
            break;
        }
        const gen_param_t *o = gen_param_find(k->params, name);
        assert_non_null(o);
        given[o - k->params] = true;
        assert_int_equal(gen_param_set("t", o, opts, val, &err), 0);
    }
    assert_int_equal(k->validate(opts, given, &err), 0);
    char path[] = "/tmp/iosim_nic_meta.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(k->write(opts, path, true, &err), 0);
    iosim_trace_reader_t *r = iosim_trace_open(path, &err);
    assert_non_null(r);
    *m = *iosim_trace_meta(r);
    iosim_trace_close(r);
    unlink(path);
    free(opts);
}

/* Generators and importers say what their traces imply: rows of keys the
 * completing device model has, or a reason there are none.  gen nic's
 * values for the F&S 40-flow input are those its validation cases give
 * by hand (tests/validation/cases/fands-40f-iotlb.case set:), and it
 * implies nothing for a layout the model does not cover. */
static void test_producers_implies(void **st)
{
    (void)st;
    size_t rows = 0;
    for (size_t i = 0; gen_kinds[i]; i++) {
        const gen_kind_t *k = gen_kinds[i];
        assert_true(k->implies ? k->implies_none == NULL
                               : k->implies_none && k->implies_none[0]);
        for (const gen_imply_t *r = k->implies; r && r->key; r++, rows++) {
            assert_non_null(r->from);
            assert_non_null(r->why);
            assert_non_null(r->value);
            char key[128];
            const char *model = iosim_dev_model_completing("gen-nic");
            assert_true(model[0]);
            snprintf(key, sizeof key, "dev.%s.%s", model, r->key);
            if (!iosim_param_find(key))
                fail_msg("gen %s implies %s: no such key", k->name, key);
        }
    }
    assert_true(rows >= 10);
    for (size_t i = 0; import_sources[i]; i++) {
        const import_source_t *s = import_sources[i];
        assert_true(s->implies ? s->implies_none == NULL
                               : s->implies_none && s->implies_none[0]);
    }

    /* the case's command line, through gen nic's own option table, its
     * check and its write: the trace's metadata */
    static const char *const args[][2] = {
        {"--flows", "40"},
        {"--cpus", "5"},
        {"--ring", "256"},
        {"--mtu", "4096"},
        {"--rx-header", "14"},
        {"--stride", "64"},
        {"--pages-per-descriptor", "64"},
        {"--queue-per-cpu", 0},
        {"--napi-batch", "16"},
        {"--gro-segments", "16"},
        {"--device-rings", 0},
        {"--stagger-polls", 0},
        {"--stagger-wqes", 0},
        {"--packets", "2000"},
        {"--driver-only", 0},
    };
    const size_t nargs = sizeof args / sizeof args[0];
    iosim_trace_meta_t m;
    nic_meta(args, nargs, NULL, &m);
    static const char *const want[][2] = {
        {"channels", "5"},        {"profile", "gen-nic"},
        {"pages_per_wqe", "64"},  {"mps", "4096"},
        {"mrrs", "4096"},         {"stride", "64"},
        {"packet_bytes", "4110"}, {"rx_wqes", "5"},
        {"rx_cqes", "256"},       {"tx_wqes", "64"},
        {"tx_cqes", "64"},        {"tx_bytes", "64"},
        {"stagger_wqes", "true"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "dev.mlx5.%s", want[i][0]);
        const char *got = implied(&m, key);
        if (!got || strcmp(got, want[i][1]))
            fail_msg("%s: %s, want %s", key, got ? got : "none", want[i][1]);
    }
    /* --rq-sizing mlx5: 8 WQEs (fands-rxunmap-40f-iotlb.case) */
    nic_meta(args, nargs, "--rq-sizing=mlx5", &m);
    assert_string_equal(implied(&m, "dev.mlx5.rx_wqes"), "8");
    /* not covered: tx data, idle channels; a full trace: nothing */
    nic_meta(args, nargs, "--direction=both", &m);
    assert_int_equal(m.n_implies, 0);
    nic_meta(args, nargs, "--channels=8", &m);
    assert_int_equal(m.n_implies, 0);
    nic_meta(args, nargs - 1, NULL, &m);
    assert_int_equal(m.n_implies, 0);
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
        cmocka_unit_test(test_trace_implies),
        cmocka_unit_test(test_producers_implies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
