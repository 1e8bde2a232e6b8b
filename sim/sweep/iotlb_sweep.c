/* iotlb_sweep.c — IOTLB geometry sweeps in one pass (iotlb_sweep.h). */
#include "sweep/iotlb_sweep.h"

#include <stdlib.h>
#include <string.h>

#include "cache/allassoc.h"
#include "cache/cache.h"
#include "stats/stat_list.h"
#include "system/services.h"
#include "system/system.h"

static iosim_cache_params_t *swept(iosim_config_t *c, iotlb_sweep_cache_t which)
{
    return which == IOTLB_SWEEP_PSC_PD ? &c->vtd.psc[3] : &c->vtd.iotlb;
}

static cache_t *swept_cache(iosim_sim_t *s, iotlb_sweep_cache_t which)
{
    return which == IOTLB_SWEEP_PSC_PD ? vtd_psc_cache(sim_vtd(s), 3)
                                       : vtd_iotlb_cache(sim_vtd(s));
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
    if (which == IOTLB_SWEEP_PSC_PD) {
        row->misses = st[IOSIM_ST_PSC3_MISSES];
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

/* One sim, its IOTLB shadowed; 1 = inexact (rows unset). */
static int run_one_pass(const iosim_config_t *base, const char *trace,
                        iotlb_sweep_cache_t which, const uint32_t *sets,
                        size_t nsets, const uint32_t *ways, size_t nways,
                        iotlb_sweep_row_t *rows, iosim_err_t *err)
{
    uint32_t max_ways = 0;
    for (size_t j = 0; j < nways; j++)
        if (ways[j] > max_ways)
            max_ways = ways[j];
    allassoc_t *a = allassoc_new(sets, nsets, max_ways, err);
    if (!a)
        return -1;
    iosim_trace_reader_t *r = iosim_trace_open(trace, err);
    if (!r) {
        allassoc_free(a);
        return -1;
    }
    int rc = -1;
    iosim_sim_t *s = iosim_sim_new(base, "one-pass", iosim_trace_meta(r), err);
    if (s) {
        cache_set_shadow(swept_cache(s, which), a);
        sim_observe_window(s, window_changed, a);
        if (iosim_replay_reader_threads(r, &s, 1, 1, NULL, NULL, err) == 0) {
            rc = 1;
            if (allassoc_exact(a)) {
                rc = 0;
                for (size_t i = 0; i < nsets; i++)
                    for (size_t j = 0; j < nways; j++) {
                        allassoc_counts_t n;
                        iotlb_sweep_row_t *row = &rows[i * nways + j];
                        allassoc_counts(a, sets[i], ways[j], &n);
                        /* the IOTLB's stat counts translations (one
                         * may probe several page sizes) */
                        uint64_t lookups =
                            which == IOTLB_SWEEP_IOTLB
                                ? sim_counters(s)[IOSIM_ST_IOTLB_LOOKUPS]
                                : n.lookups;
                        *row =
                            (iotlb_sweep_row_t){.sets = sets[i],
                                                .ways = ways[j],
                                                .lookups = lookups,
                                                .hits = n.hits,
                                                .misses = lookups - n.hits,
                                                .evictions = n.evictions,
                                                .invalidated = n.invalidated};
                    }
            }
        }
        cache_set_shadow(swept_cache(s, which), NULL);
        iosim_sim_free(s);
    }
    iosim_trace_close(r);
    allassoc_free(a);
    return rc;
}

/* One sim per point, all fed by one decode. */
static int run_plain(const iosim_config_t *base, const char *trace,
                     iotlb_sweep_cache_t which, const uint32_t *sets,
                     size_t nsets, const uint32_t *ways, size_t nways,
                     unsigned threads, iotlb_sweep_row_t *rows,
                     iosim_err_t *err)
{
    size_t n = nsets * nways, made = 0;
    iosim_sim_t **sims = calloc(n, sizeof *sims);
    if (!sims)
        return iosim_err_set(err, "iotlb sweep: out of memory");
    iosim_trace_reader_t *r = iosim_trace_open(trace, err);
    int rc = -1;
    if (!r)
        goto out;
    for (; made < n; made++) {
        iosim_config_t *c = iosim_config_clone(base);
        if (!c) {
            iosim_err_set(err, "iotlb sweep: out of memory");
            goto out;
        }
        if (which == IOTLB_SWEEP_IOTLB)
            c->vtd.iotlb_entries = 0; /* the grid gives sets and ways */
        swept(c, which)->sets = sets[made / nways];
        swept(c, which)->ways = ways[made % nways];
        char label[64];
        snprintf(label, sizeof label, "sets=%u,ways=%u", sets[made / nways],
                 ways[made % nways]);
        sims[made] = iosim_sim_new(c, label, iosim_trace_meta(r), err);
        iosim_config_free(c);
        if (!sims[made])
            goto out;
    }
    if (iosim_replay_reader_threads(r, sims, n, threads, NULL, NULL, err))
        goto out;
    for (size_t k = 0; k < n; k++)
        copy_row(&rows[k], sets[k / nways], ways[k % nways], sims[k], which);
    rc = 0;
out:
    for (size_t k = 0; k < made; k++)
        iosim_sim_free(sims[k]);
    free(sims);
    if (r)
        iosim_trace_close(r);
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
    if (!no) {
        int rc = run_one_pass(base, trace, which, sets, nsets, ways, nways,
                              rows, err);
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
    return run_plain(base, trace, which, sets, nsets, ways, nways, threads,
                     rows, err);
}
