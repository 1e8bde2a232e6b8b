/* plan.c — configuration points and the plan of iosim's --compare and
 * --sweep options (iosim.h "Experiments").
 *
 * Concepts:
 *   - A point is what one sim sets over the base configuration: a
 *     --compare item policy[@mode][:kernel] (the mode brings its settings,
 *     hv.h implies; a mode without a host second stage, two_stage,
 *     falls back from a nested to a second-stage translation), then
 *     KEY=VALUE assignments.  The
 *     command line and sweep files (sweep_file.c) both make points, so a
 *     configuration means the same whichever front end named it.
 *   - Labels name what differs: "strict", "lazy@emulated",
 *     "strict@emulated:6.12", "strict vtd.iotlb.ways=16".
 * Assumptions: a point sets each key once (the planners check).
 * Not modeled: nothing; plumbing between front ends and sims.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "hv/hv.h"
#include "iosim.h"
#include "os/os.h"

int iosim_point_label(const iosim_config_t *base, const iosim_point_t *pt,
                      char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s", pt->name[0] ? pt->name : base->os.policy);
    for (size_t k = 0; k < pt->nsets; k++) {
        if (!pt->sets[k].in_label)
            continue;
        size_t at = (size_t)len < n ? (size_t)len : n;
        len += snprintf(buf + at, n - at, " %s=%s", pt->sets[k].key,
                        pt->sets[k].value);
    }
    return len;
}

static int apply_item(iosim_config_t *c, const char *item, iosim_err_t *err)
{
    char it[sizeof((iosim_point_t *)0)->item], set[160];
    snprintf(it, sizeof it, "%s", item);
    /* POLICY[@MODE][:KERNEL]: the kernel sets os.kernel, after what the
     * mode implies (no mode implies a kernel) */
    char *colon = strchr(it, ':');
    if (colon)
        *colon = '\0';
    char *at = strchr(it, '@');
    if (at)
        *at = '\0';
    snprintf(set, sizeof set, "os.policy=%s", it);
    if (iosim_config_set(c, set, err))
        return -1;
    /* the scheme brings its settings (os.h implies) */
    const os_policy_ops_t *p = os_policy_find(it);
    if (p && iosim_plugin_apply_implies(c, &p->params, err))
        return -1;
    if (at) {
        snprintf(set, sizeof set, "hv.mode=%s", at + 1);
        if (iosim_config_set(c, set, err))
            return -1;
        /* The mode brings its settings (hv.h implies); a mode without a
         * host second stage under the guest's (two_stage) translates with
         * one stage (the VFIO shadow, the host's map of guest RAM, or bare
         * metal), so a nested config falls back to second-stage for it. */
        const hv_mode_ops_t *m = hv_mode_find(at + 1);
        if (m && !m->two_stage && strcmp(c->vtd.translation, "nested") == 0 &&
            iosim_config_set(c, "vtd.translation=second-stage", err))
            return -1;
        if (m && iosim_plugin_apply_implies(c, &m->params, err))
            return -1;
    }
    if (colon) {
        snprintf(set, sizeof set, "os.kernel=%s", colon + 1);
        if (iosim_config_set(c, set, err))
            return -1;
    }
    return 0;
}

int iosim_point_config(const iosim_config_t *base, const iosim_point_t *pt,
                       iosim_config_t **out, iosim_err_t *err)
{
    *out = NULL;
    iosim_config_t *c = iosim_config_clone(base);
    if (!c)
        return iosim_err_set(err, "out of memory");
    int bad = pt->item[0] ? apply_item(c, pt->item, err) : 0;
    for (size_t k = 0; k < pt->nsets && !bad; k++) {
        char set[sizeof pt->sets[k].key + sizeof pt->sets[k].value + 2];
        snprintf(set, sizeof set, "%s=%s", pt->sets[k].key, pt->sets[k].value);
        bad = iosim_config_set(c, set, err);
    }
    if (!bad)
        bad = iosim_config_validate(c, err);
    if (bad) {
        iosim_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

iosim_sim_t *iosim_point_sim_new(const iosim_config_t *base,
                                 const iosim_point_t *pt,
                                 const iosim_trace_meta_t *meta,
                                 iosim_err_t *err)
{
    char label[256];
    iosim_point_label(base, pt, label, sizeof label);
    iosim_config_t *c = NULL;
    iosim_sim_t *s = NULL;
    if (!iosim_point_config(base, pt, &c, err)) {
        /* a substitution the item made says so in the label, as the OS
         * policies' do (sim_note_substitution): apply_item's fall back
         * from nested translation for a mode without a host stage */
        bool set_here = false;
        for (size_t k = 0; k < pt->nsets; k++)
            set_here |= strcmp(pt->sets[k].key, "vtd.translation") == 0;
        if (strchr(pt->item, '@') && !set_here &&
            strcmp(base->vtd.translation, c->vtd.translation) != 0 &&
            strcmp(base->vtd.translation, "nested") == 0) {
            size_t len = strlen(label);
            snprintf(label + len, sizeof label - len, " (%s: no host stage)",
                     c->vtd.translation);
        }
        s = iosim_sim_new(c, label, meta, err);
    }
    iosim_config_free(c);
    if (!s) {
        char msg[sizeof err->msg], key[sizeof err->key];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(key, sizeof key, "%s", err->key);
        iosim_err_set(err, "%s%s: %s",
                      pt->item[0] && !pt->from_file ? "--compare " : "", label,
                      msg);
        snprintf(err->key, sizeof err->key, "%s", key);
    }
    return s;
}

/* Cuts the comma-separated list in buf into items (at most max), each
 * non-empty and given once: the one parse of a --compare or --sweep list,
 * so counting, checking and picking see the same items.  what names the
 * list in messages ("--compare", "--sweep KEY"), noun its items ("",
 * "value "), whole is the list as given. */
static int split_list(char *buf, const char *what, const char *noun,
                      const char *whole, const char **items, size_t max,
                      size_t *n, iosim_err_t *err)
{
    *n = 0;
    for (char *it = buf;;) {
        char *comma = strchr(it, ',');
        if (comma)
            *comma = '\0';
        if (!*it)
            return iosim_err_set(err, "%s '%s': an empty %s", what, whole,
                                 *noun ? "value" : "item");
        for (size_t j = 0; j < *n; j++)
            if (!strcmp(items[j], it))
                return iosim_err_set(err, "%s: %s'%s' given twice", what, noun,
                                     it);
        if (*n == max)
            return iosim_err_set(err, "%s: at most %zu items", what, max);
        items[(*n)++] = it;
        if (!comma)
            return 0;
        it = comma + 1;
    }
}

typedef struct cli_sweep {
    char key[96];
    char values[1024]; /* cut at the commas by split_list */
    const char **val;
    size_t nval;
} cli_sweep_t;

static int plan_cli(const char *compare, cli_sweep_t *sw, size_t nsw,
                    const char *const *sweeps, size_t max, iosim_point_t **pts,
                    size_t *npts, iosim_err_t *err)
{
    char list[1024];
    const char **items = calloc(max + 1, sizeof *items);
    if (!items)
        return iosim_err_set(err, "out of memory");
    size_t nitems = 0;
    int rc = -1;
    if (compare) {
        snprintf(list, sizeof list, "%s", compare);
        if (split_list(list, "--compare", "", compare, items, max, &nitems,
                       err))
            goto out;
        for (size_t i = 0; i < nitems; i++)
            if (strlen(items[i]) >= sizeof((iosim_point_t *)0)->item) {
                iosim_err_set(err, "--compare: '%s' is too long", items[i]);
                goto out;
            }
    }
    /* Every configuration must be what its label says: one value per
     * key, and no sweep of what a --compare item sets. */
    for (size_t k = 0; k < nsw; k++) {
        const char *eq = strchr(sweeps[k], '=');
        snprintf(sw[k].key, sizeof sw[k].key, "%.*s", (int)(eq - sweeps[k]),
                 sweeps[k]);
        snprintf(sw[k].values, sizeof sw[k].values, "%s", eq + 1);
        for (size_t j = 0; j < k; j++)
            if (!strcmp(sw[j].key, sw[k].key)) {
                iosim_err_set(err,
                              "--sweep %s: given twice (list its "
                              "values in one --sweep)",
                              sw[k].key);
                goto out;
            }
        if (compare &&
            (!strcmp(sw[k].key, "os.policy") || !strcmp(sw[k].key, "hv.mode") ||
             (!strcmp(sw[k].key, "os.kernel") && strchr(compare, ':')))) {
            iosim_err_set(err,
                          "--sweep %s: --compare sets it per item "
                          "(list the items there)",
                          sw[k].key);
            goto out;
        }
        char what[160];
        snprintf(what, sizeof what, "--sweep %.95s", sw[k].key);
        if (!(sw[k].val = calloc(max + 1, sizeof *sw[k].val))) {
            iosim_err_set(err, "out of memory");
            goto out;
        }
        if (split_list(sw[k].values, what, "value ", eq + 1, sw[k].val, max,
                       &sw[k].nval, err))
            goto out;
        for (size_t v = 0; v < sw[k].nval; v++)
            if (strlen(sw[k].val[v]) >=
                sizeof((iosim_point_t *)0)->sets[0].value) {
                iosim_err_set(err,
                              "--sweep %s: value '%.40s...' is too "
                              "long",
                              sw[k].key, sw[k].val[v]);
                goto out;
            }
    }
    size_t combos = nitems ? nitems : 1;
    for (size_t k = 0; k < nsw; k++) {
        if (combos * sw[k].nval > max) {
            iosim_err_set(err,
                          "--compare x --sweep: more than %zu "
                          "configurations",
                          max);
            goto out;
        }
        combos *= sw[k].nval;
    }
    if (!(*pts = calloc(combos, sizeof **pts))) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    *npts = combos;
    for (size_t p = 0; p < combos; p++) {
        iosim_point_t *pt = &(*pts)[p];
        size_t rest = p; /* mixed-radix digits: the last sweep fastest */
        for (size_t k = nsw; k-- > 0;) {
            struct iosim_point_set *s = &pt->sets[k];
            snprintf(s->key, sizeof s->key, "%s", sw[k].key);
            snprintf(s->value, sizeof s->value, "%s",
                     sw[k].val[rest % sw[k].nval]);
            s->in_label = true;
            rest /= sw[k].nval;
        }
        pt->nsets = nsw;
        if (nitems) {
            snprintf(pt->item, sizeof pt->item, "%s", items[rest]);
            snprintf(pt->name, sizeof pt->name, "%s", items[rest]);
        }
    }
    rc = 0;
out:
    free(items);
    return rc;
}

int iosim_plan_cli(const char *compare, const char *const *sweeps,
                   size_t nsweeps, size_t max, iosim_point_t **pts,
                   size_t *npts, iosim_err_t *err)
{
    *pts = NULL;
    *npts = 0;
    if (nsweeps > IOSIM_POINT_MAX_SETS)
        return iosim_err_set(err, "--sweep: at most %d", IOSIM_POINT_MAX_SETS);
    for (size_t k = 0; k < nsweeps; k++) {
        const char *eq = strchr(sweeps[k], '=');
        if (!eq || eq == sweeps[k] || !eq[1])
            return iosim_err_set(err, "--sweep %s: expected KEY=V1,V2,...",
                                 sweeps[k]);
        if ((size_t)(eq - sweeps[k]) >= sizeof((cli_sweep_t *)0)->key ||
            strlen(eq + 1) >= sizeof((cli_sweep_t *)0)->values)
            return iosim_err_set(err, "--sweep %.40s...: too long", sweeps[k]);
    }
    cli_sweep_t sw[IOSIM_POINT_MAX_SETS];
    memset(sw, 0, sizeof sw);
    int rc = plan_cli(compare, sw, nsweeps, sweeps, max, pts, npts, err);
    for (size_t k = 0; k < nsweeps; k++)
        free(sw[k].val);
    if (rc) {
        free(*pts);
        *pts = NULL;
        *npts = 0;
    }
    return rc;
}
