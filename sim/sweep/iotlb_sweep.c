/* iotlb_sweep.c — IOTLB geometry sweeps in one pass (iotlb_sweep.h). */
#include "sweep/iotlb_sweep.h"

#include <stdlib.h>
#include <string.h>

#include "cache/allassoc.h"
#include "cache/cache.h"
#include "stats/stat_list.h"
#include "system/services.h"
#include "system/system.h"

/* vtd.psc[] and vtd_psc_cache slot of a PSC grid (PML5E 0 .. PDE 3) */
static unsigned psc_slot_of(iotlb_sweep_cache_t which)
{
    return which == IOTLB_SWEEP_PSC_PD     ? 3u
           : which == IOTLB_SWEEP_PSC_PDPT ? 2u
                                           : 1u;
}

static iosim_cache_params_t *swept(iosim_config_t *c, iotlb_sweep_cache_t which)
{
    return which == IOTLB_SWEEP_IOTLB ? &c->vtd.iotlb
                                      : &c->vtd.psc[psc_slot_of(which)];
}

static cache_t *swept_cache(iosim_sim_t *s, iotlb_sweep_cache_t which)
{
    return which == IOTLB_SWEEP_IOTLB
               ? vtd_iotlb_cache(sim_vtd(s))
               : vtd_psc_cache(sim_vtd(s), psc_slot_of(which));
}

/* Why the base configuration rules one pass out, or NULL. */
static const char *one_pass_ruled_out(const iosim_config_t *c,
                                      iotlb_sweep_cache_t which)
{
    const iosim_cache_params_t *p = swept((iosim_config_t *)c, which);
    if (!p->enabled)
        return "the cache is disabled";
    const cache_repl_ops_t *repl = cache_repl_find(p->replacement);
    if (!repl || repl->kind != CACHE_REPL_LRU) /* the stack property */
        return "replacement is not lru";
    if (strcmp(c->vtd.inval_walks_in_flight, "complete"))
        return "vtd.inval_walks_in_flight is not complete";
    return NULL;
}

static void copy_row(iotlb_sweep_row_t *row, uint32_t sets, uint32_t ways,
                     const iosim_sim_t *s, iotlb_sweep_cache_t which)
{
    const uint64_t *st = sim_counters(s);
    row->sets = sets;
    row->ways = ways;
    if (which != IOTLB_SWEEP_IOTLB) { /* psc.l3 (PDE) .. l1 (PML4E) */
        row->misses =
            st[which == IOTLB_SWEEP_PSC_PD     ? IOSIM_ST_PSC3_MISSES
               : which == IOTLB_SWEEP_PSC_PDPT ? IOSIM_ST_PSC2_MISSES
                                               : IOSIM_ST_PSC1_MISSES];
        row->misses_only = true;
        return;
    }
    row->lookups = st[IOSIM_ST_IOTLB_LOOKUPS];
    row->hits = st[IOSIM_ST_IOTLB_HITS];
    row->misses = st[IOSIM_ST_IOTLB_MISSES];
    row->evictions = st[IOSIM_ST_IOTLB_EVICTIONS];
    row->invalidated = st[IOSIM_ST_IOTLB_INVAL_ENTRIES];
}

static void window_changed(void *arg, bool begin)
{
    allassoc_window(arg, begin);
}

/* ---- sims over one decode each ----------------------------------------- */

/* n sims of the base, each changed by configure (which also names it);
 * attach may hang a shadow on sim k before the replay, collect reads it
 * after.  At most SIMS_PER_DECODE sims share a decode (the sweep file's
 * largest shard: memory grows with the sims of one pass). */
#define SIMS_PER_DECODE 256

typedef struct sims_plan {
    size_t n;
    void (*configure)(iosim_config_t *c, size_t k, char *label, size_t len,
                      void *arg);
    int (*attach)(iosim_sim_t *s, size_t k, void *arg, iosim_err_t *err);
    void (*collect)(iosim_sim_t *s, size_t k, void *arg);
    void *arg;
} sims_plan_t;

static int run_sims(const iosim_config_t *base, const char *trace,
                    const sims_plan_t *p, unsigned threads, iosim_err_t *err)
{
    size_t cap = p->n < SIMS_PER_DECODE ? p->n : SIMS_PER_DECODE;
    iosim_sim_t **sims = calloc(cap ? cap : 1, sizeof *sims);
    if (!sims)
        return iosim_err_set(err, "iotlb sweep: out of memory");
    int rc = 0;
    for (size_t first = 0; first < p->n && rc == 0; first += cap) {
        size_t n = p->n - first < cap ? p->n - first : cap, made = 0;
        iosim_trace_reader_t *r = iosim_trace_open(trace, err);
        rc = -1;
        if (!r)
            break;
        for (; made < n; made++) {
            iosim_config_t *c = iosim_config_clone(base);
            if (!c) {
                iosim_err_set(err, "iotlb sweep: out of memory");
                goto out;
            }
            char label[96];
            p->configure(c, first + made, label, sizeof label, p->arg);
            sims[made] = iosim_sim_new(c, label, iosim_trace_meta(r), err);
            iosim_config_free(c);
            if (!sims[made])
                goto out;
            if (p->attach && p->attach(sims[made], first + made, p->arg, err)) {
                made++;
                goto out;
            }
        }
        if (iosim_replay_reader_threads(r, sims, n, threads, NULL, NULL, err))
            goto out;
        for (size_t k = 0; k < n; k++)
            p->collect(sims[k], first + k, p->arg);
        rc = 0;
    out:
        for (size_t k = 0; k < made; k++)
            iosim_sim_free(sims[k]);
        iosim_trace_close(r);
    }
    free(sims);
    return rc;
}

/* ---- one cache's grid ---------------------------------------------------- */

typedef struct grid1 {
    iotlb_sweep_cache_t which;
    const uint32_t *sets, *ways;
    size_t nsets, nways;
    allassoc_t *a; /* one pass: the shadow */
    iotlb_sweep_row_t *rows;
    bool feed;          /* one pass: the shadow on a thread of its own */
    allassoc_feed_t *f; /* (allassoc_feed_new; NULL: none started) */
} grid1_t;

static void grid1_base(iosim_config_t *c, size_t k, char *label, size_t len,
                       void *arg)
{
    (void)c, (void)k, (void)arg;
    snprintf(label, len, "one-pass");
}

static int grid1_attach(iosim_sim_t *s, size_t k, void *arg, iosim_err_t *err)
{
    grid1_t *g = arg;
    (void)k;
    cache_set_shadow(swept_cache(s, g->which), g->a);
    sim_observe_window(s, window_changed, g->a);
    if (g->feed) {
        iosim_err_t ignored; /* no thread: the sim's own updates it */
        g->f = allassoc_feed_new(&ignored);
    }
    return g->f ? allassoc_feed_add(g->f, g->a, err) : 0;
}

/* the rows of every geometry from the shadow (if exact) */
static void grid1_counts(iosim_sim_t *s, size_t k, void *arg)
{
    grid1_t *g = arg;
    (void)k;
    cache_set_shadow(swept_cache(s, g->which), NULL);
    allassoc_feed_free(g->f);
    g->f = NULL;
    if (!allassoc_exact(g->a))
        return;
    for (size_t i = 0; i < g->nsets; i++)
        for (size_t j = 0; j < g->nways; j++) {
            allassoc_counts_t n;
            allassoc_counts(g->a, g->sets[i], g->ways[j], &n);
            /* the IOTLB's stat counts translations (one may probe
             * several page sizes) */
            uint64_t lookups = g->which == IOTLB_SWEEP_IOTLB
                                   ? sim_counters(s)[IOSIM_ST_IOTLB_LOOKUPS]
                                   : n.lookups;
            g->rows[i * g->nways + j] =
                (iotlb_sweep_row_t){.sets = g->sets[i],
                                    .ways = g->ways[j],
                                    .lookups = lookups,
                                    .hits = n.hits,
                                    .misses = lookups - n.hits,
                                    .evictions = n.evictions,
                                    .invalidated = n.invalidated};
        }
}

static void grid1_point(iosim_config_t *c, size_t k, char *label, size_t len,
                        void *arg)
{
    grid1_t *g = arg;
    uint32_t sets = g->sets[k / g->nways], ways = g->ways[k % g->nways];
    if (g->which == IOTLB_SWEEP_IOTLB)
        c->vtd.iotlb_entries = 0; /* the grid gives sets and ways */
    swept(c, g->which)->sets = sets;
    swept(c, g->which)->ways = ways;
    snprintf(label, len, "sets=%u,ways=%u", sets, ways);
}

static void grid1_copy(iosim_sim_t *s, size_t k, void *arg)
{
    grid1_t *g = arg;
    copy_row(&g->rows[k], g->sets[k / g->nways], g->ways[k % g->nways], s,
             g->which);
}

/* One sim, its cache shadowed (with threads other than 1, the shadow on
 * a thread of its own and the decode on the others); 1 = inexact (rows
 * unset). */
static int run_one_pass(const iosim_config_t *base, const char *trace,
                        grid1_t *g, unsigned threads, iosim_err_t *err)
{
    uint32_t max_ways = 0;
    for (size_t j = 0; j < g->nways; j++)
        if (g->ways[j] > max_ways)
            max_ways = g->ways[j];
    g->a = allassoc_new(g->sets, g->nsets, max_ways, err);
    if (!g->a)
        return -1;
    sims_plan_t p = {1, grid1_base, grid1_attach, grid1_counts, g};
    g->feed = threads != 1;
    int rc = run_sims(base, trace, &p, threads, err);
    allassoc_feed_free(g->f); /* (an error before grid1_counts) */
    g->f = NULL;
    if (rc == 0 && !allassoc_exact(g->a))
        rc = 1;
    allassoc_free(g->a);
    g->a = NULL;
    return rc;
}

int iotlb_sweep_run(const iosim_config_t *base, const char *trace,
                    iotlb_sweep_cache_t which, const uint32_t *sets,
                    size_t nsets, const uint32_t *ways, size_t nways,
                    iotlb_sweep_method_t method, unsigned threads,
                    iotlb_sweep_row_t *rows, bool *one_pass, char *why,
                    iosim_err_t *err)
{
    if (iosim_config_validate(base, err))
        return -1;
    for (size_t j = 0; j < nways; j++)
        if (ways[j] == 0)
            return iosim_err_set(err, "ways: 0 is not a way count");
    const char *no = method == IOTLB_SWEEP_PLAIN
                         ? "plain runs asked for"
                         : one_pass_ruled_out(base, which);
    *one_pass = false;
    grid1_t g = {which, sets, ways, nsets, nways, NULL, rows, false, NULL};
    if (!no) {
        int rc = run_one_pass(base, trace, &g, threads, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            *one_pass = true;
            if (why)
                why[0] = '\0';
            return 0;
        }
        no = "the trace's input to the cache depends on its geometry";
    }
    if (why)
        snprintf(why, 128, "%s", no);
    sims_plan_t p = {nsets * nways, grid1_point, NULL, grid1_copy, &g};
    return run_sims(base, trace, &p, threads, err);
}

/* ---- the IOTLB x the PDE cache ------------------------------------------- */

typedef struct grid2 {
    const uint32_t *sets, *ways, *psets, *pways;
    size_t nsets, nways, npsets, npways;
    uint32_t max_pways;
    allassoc_t **a; /* one pass: the PDE shadow of each IOTLB geometry */
    iotlb_psc_row_t *rows;
} grid2_t;

static void set_iotlb(iosim_config_t *c, uint32_t sets, uint32_t ways)
{
    c->vtd.iotlb_entries = 0; /* the grid gives sets and ways */
    c->vtd.iotlb.sets = sets;
    c->vtd.iotlb.ways = ways;
}

/* sim k: IOTLB geometry k, the PDE cache as the base has it (its shadow
 * gives the others) */
static void grid2_iotlb(iosim_config_t *c, size_t k, char *label, size_t len,
                        void *arg)
{
    grid2_t *g = arg;
    uint32_t sets = g->sets[k / g->nways], ways = g->ways[k % g->nways];
    set_iotlb(c, sets, ways);
    snprintf(label, len, "sets=%u,ways=%u", sets, ways);
}

static int grid2_attach(iosim_sim_t *s, size_t k, void *arg, iosim_err_t *err)
{
    grid2_t *g = arg;
    g->a[k] = allassoc_new(g->psets, g->npsets, g->max_pways, err);
    if (!g->a[k])
        return -1;
    cache_set_shadow(vtd_psc_cache(sim_vtd(s), 3), g->a[k]);
    sim_observe_window(s, window_changed, g->a[k]);
    return 0;
}

/* the IOTLB's own counters (its sim); the PDE cache's of every geometry
 * from the shadow, if exact */
static void grid2_counts(iosim_sim_t *s, size_t k, void *arg)
{
    grid2_t *g = arg;
    allassoc_t *a = g->a[k];
    cache_set_shadow(vtd_psc_cache(sim_vtd(s), 3), NULL);
    if (!allassoc_exact(a))
        return;
    size_t np = g->npsets * g->npways;
    for (size_t q = 0; q < np; q++) {
        iotlb_psc_row_t *row = &g->rows[k * np + q];
        copy_row(&row->iotlb, g->sets[k / g->nways], g->ways[k % g->nways], s,
                 IOTLB_SWEEP_IOTLB);
        allassoc_counts_t n;
        uint32_t ps = g->psets[q / g->npways], pw = g->pways[q % g->npways];
        allassoc_counts(a, ps, pw, &n);
        row->pde = (iotlb_sweep_row_t){.sets = ps,
                                       .ways = pw,
                                       .lookups = n.lookups,
                                       .hits = n.hits,
                                       .misses = n.lookups - n.hits,
                                       .evictions = n.evictions,
                                       .invalidated = n.invalidated};
    }
}

/* separate sims: point k is IOTLB geometry k / np, PDE geometry k % np */
static void grid2_point(iosim_config_t *c, size_t k, char *label, size_t len,
                        void *arg)
{
    grid2_t *g = arg;
    size_t np = g->npsets * g->npways, i = k / np, q = k % np;
    uint32_t sets = g->sets[i / g->nways], ways = g->ways[i % g->nways];
    uint32_t ps = g->psets[q / g->npways], pw = g->pways[q % g->npways];
    set_iotlb(c, sets, ways);
    c->vtd.psc[3].sets = ps;
    c->vtd.psc[3].ways = pw;
    snprintf(label, len, "sets=%u,ways=%u,psc_sets=%u,psc_ways=%u", sets, ways,
             ps, pw);
}

static void grid2_copy(iosim_sim_t *s, size_t k, void *arg)
{
    grid2_t *g = arg;
    size_t np = g->npsets * g->npways, i = k / np, q = k % np;
    iotlb_psc_row_t *row = &g->rows[k];
    copy_row(&row->iotlb, g->sets[i / g->nways], g->ways[i % g->nways], s,
             IOTLB_SWEEP_IOTLB);
    copy_row(&row->pde, g->psets[q / g->npways], g->pways[q % g->npways], s,
             IOTLB_SWEEP_PSC_PD);
}

int iotlb_psc_sweep_run(const iosim_config_t *base, const char *trace,
                        const uint32_t *sets, size_t nsets,
                        const uint32_t *ways, size_t nways,
                        const uint32_t *psc_sets, size_t npsc_sets,
                        const uint32_t *psc_ways, size_t npsc_ways,
                        iotlb_sweep_method_t method, unsigned threads,
                        iotlb_psc_row_t *rows, bool *one_pass, char *why,
                        iosim_err_t *err)
{
    if (iosim_config_validate(base, err))
        return -1;
    grid2_t g = {sets,      ways,      psc_sets, psc_ways, nsets, nways,
                 npsc_sets, npsc_ways, 0,        NULL,     rows};
    for (size_t j = 0; j < nways; j++)
        if (ways[j] == 0)
            return iosim_err_set(err, "ways: 0 is not a way count");
    for (size_t j = 0; j < npsc_ways; j++) {
        if (psc_ways[j] == 0)
            return iosim_err_set(err, "psc ways: 0 is not a way count");
        if (psc_ways[j] > g.max_pways)
            g.max_pways = psc_ways[j];
    }
    /* The IOTLB of each geometry is a sim of its own (any replacement);
     * the PDE cache needs what the one-cache pass needs. */
    const char *no = method == IOTLB_SWEEP_PLAIN
                         ? "plain runs asked for"
                         : one_pass_ruled_out(base, IOTLB_SWEEP_PSC_PD);
    *one_pass = false;
    if (!no) {
        size_t ni = nsets * nways;
        g.a = calloc(ni, sizeof *g.a);
        if (!g.a)
            return iosim_err_set(err, "iotlb sweep: out of memory");
        sims_plan_t p = {ni, grid2_iotlb, grid2_attach, grid2_counts, &g};
        int rc = run_sims(base, trace, &p, threads, err);
        bool exact = true;
        for (size_t k = 0; k < ni; k++) {
            exact = exact && g.a[k] && allassoc_exact(g.a[k]);
            allassoc_free(g.a[k]);
        }
        free(g.a);
        if (rc)
            return -1;
        if (exact) {
            *one_pass = true;
            if (why)
                why[0] = '\0';
            return 0;
        }
        no = "the trace's input to the PDE cache depends on its geometry";
    }
    if (why)
        snprintf(why, 128, "%s", no);
    sims_plan_t p = {nsets * nways * npsc_sets * npsc_ways, grid2_point, NULL,
                     grid2_copy, &g};
    return run_sims(base, trace, &p, threads, err);
}
