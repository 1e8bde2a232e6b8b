/* share.c — several sims of one trace, with the runs of sims that would
 * compute the same shared where that is exact (iosim.h
 * iosim_replay_shared).
 *
 * Concepts:
 *   - A group: sims whose configurations are equal but for the IOTLB's
 *     geometry (vtd.iotlb.sets, .ways, .entries), whose IOTLB is LRU,
 *     whose walks in flight complete (vtd.inval_walks_in_flight) and
 *     which write no rows of their own (epochs, translation log, access
 *     dump).  In such a sim nothing depends on the IOTLB but through the
 *     hit or miss of each lookup: the OS policy, its page tables and its
 *     invalidations never read the IOTLB; a lookup costs hit_ns whatever
 *     the outcome; a miss walks the same tables through the same
 *     paging-structure caches; an invalidation's time is counted per
 *     descriptor (vtd.c submit_one), not per entry removed.  So two sims
 *     of a group whose IOTLBs hit and missed at the same lookups end with
 *     the same counters, histograms and warnings, except the IOTLB's
 *     evictions and entries invalidated.
 *   - Pass 1: the first sim of each group (its leader) runs with an
 *     all-associativity shadow on its IOTLB (cache/allassoc.h, LRU stack
 *     distances) that compares every other member's outcome with the
 *     leader's, lookup by lookup.  A member that never differed takes the
 *     leader's results (system.h sim_adopt_results) and its own evictions
 *     and invalidated entries from the shadow.  Sims in no group run as
 *     themselves in the same decode.
 *   - Pass 2: the members that differed, in classes of equal differences
 *     (the count and a hash of their positions), each class's first
 *     member leading the rest, watched again: a shared hash is checked,
 *     never trusted.  Pass 3: whatever still differed, each sim alone.
 *     A pass decodes the trace again (reopened by path); a pass runs its
 *     sims on `threads` threads as iosim_replay_reader_threads does.
 *   - Checks that make a leader's shadow unusable (its members then run
 *     in the next pass): the shadow's own (allassoc_exact: one probe per
 *     lookup, a miss filled with the key looked up, a hit's page filled
 *     with the same key by a geometry that missed), and the leader's own
 *     IOTLB counters equal to the shadow's counts of its geometry.
 * Assumptions: the sims were made for this trace (iosim_sim_new with its
 *   metadata) and were fed nothing yet.
 * Not done: sharing between sims that differ in anything else (a PSC's
 *   geometry, timing, the OS policy): each runs whole, its OS policy and
 *   page tables too; an error is reported as the first failing sim of a
 *   pass meets it (a sim whose run was shared fails with its leader).
 */
#include <stdlib.h>
#include <string.h>

#include "cache/allassoc.h"
#include "cache/cache.h"
#include "config/config.h"
#include "stats/stat_list.h"
#include "system/services.h"
#include "system/system.h"

/* The keys a group's members may differ in. */
static bool geometry_key(const char *key)
{
    return !strcmp(key, "vtd.iotlb.sets") || !strcmp(key, "vtd.iotlb.ways") ||
           !strcmp(key, "vtd.iotlb.entries");
}

typedef struct sig {
    char *text;
    size_t len, cap;
    bool oom;
} sig_t;

static void sig_add(const char *key, const char *value, iosim_ptype_t type,
                    void *arg)
{
    sig_t *g = arg;
    (void)type;
    if (g->oom || geometry_key(key))
        return;
    size_t need = strlen(key) + strlen(value) + 3;
    if (g->len + need > g->cap) {
        size_t cap = (g->cap ? 2 * g->cap : 8192) + need;
        char *t = realloc(g->text, cap);
        if (!t) {
            g->oom = true;
            return;
        }
        g->text = t;
        g->cap = cap;
    }
    g->len += (size_t)sprintf(g->text + g->len, "%s=%s\n", key, value);
}

/* Why sim s cannot share its run, or NULL. */
static const char *ruled_out(const iosim_sim_t *s)
{
    const iosim_config_t *c = iosim_sim_config(s);
    if (sim_writes_rows(s))
        return "a per-configuration output (--epoch, --xlate-log, "
               "--dump-accesses) is written";
    if (!c->vtd.iotlb.enabled)
        return "the IOTLB is disabled";
    const cache_repl_ops_t *repl = cache_repl_find(c->vtd.iotlb.replacement);
    if (!repl || repl->kind != CACHE_REPL_LRU)
        return "IOTLB replacement is not lru";
    if (strcmp(c->vtd.inval_walks_in_flight, "complete"))
        return "vtd.inval_walks_in_flight is not complete";
    return NULL;
}

typedef enum role { ROLE_ALONE, ROLE_LEAD, ROLE_FOLLOW, ROLE_DONE } role_t;

typedef struct member {
    size_t group;          /* index of its group's first sim; SIZE_MAX: none */
    role_t role;           /* in the coming pass */
    size_t leader;         /* ROLE_FOLLOW: the sim that leads it */
    size_t watch;          /* ROLE_FOLLOW: its place in the leader's watch */
    bool alone;            /* may only run as itself from now on */
    uint64_t differs, key; /* against the last leader that watched it */
} member_t;

typedef struct share {
    iosim_sim_t **sims;
    size_t n;
    member_t *m;
    allassoc_t **shadow; /* per sim: ROLE_LEAD's shadow in this pass */
    size_t shared, ran, passes;
    bool grouped; /* some group has two members or more */
} share_t;

static uint32_t iotlb_sets(const iosim_sim_t *s)
{
    return iosim_sim_config(s)->vtd.iotlb.sets;
}
static uint32_t iotlb_ways(const iosim_sim_t *s)
{
    return iosim_sim_config(s)->vtd.iotlb.ways;
}

static void window_changed(void *arg, bool begin)
{
    allassoc_window(arg, begin);
}

/* The shadow of leader L watching its followers; attached to its IOTLB. */
static int lead_attach(share_t *sh, size_t L, iosim_err_t *err)
{
    size_t nf = 0;
    uint32_t *sets = calloc(sh->n + 1, sizeof *sets);
    uint32_t *wsets = calloc(sh->n + 1, sizeof *wsets);
    uint32_t *wways = calloc(sh->n + 1, sizeof *wways);
    int rc = -1;
    if (!sets || !wsets || !wways) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    size_t nsets = 0;
    uint32_t max_ways = iotlb_ways(sh->sims[L]);
    sets[nsets++] = iotlb_sets(sh->sims[L]);
    for (size_t i = 0; i < sh->n; i++) {
        member_t *f = &sh->m[i];
        if (f->role != ROLE_FOLLOW || f->leader != L)
            continue;
        uint32_t s = iotlb_sets(sh->sims[i]), w = iotlb_ways(sh->sims[i]);
        bool listed = false;
        for (size_t k = 0; k < nsets; k++)
            listed |= sets[k] == s;
        if (!listed)
            sets[nsets++] = s;
        if (w > max_ways)
            max_ways = w;
        f->watch = nf;
        wsets[nf] = s;
        wways[nf++] = w;
    }
    allassoc_t *a = allassoc_new(sets, nsets, max_ways, err);
    if (!a)
        goto out;
    if (allassoc_watch(a, iotlb_sets(sh->sims[L]), iotlb_ways(sh->sims[L]),
                       wsets, wways, nf, err)) {
        allassoc_free(a);
        goto out;
    }
    sh->shadow[L] = a;
    cache_set_shadow(vtd_iotlb_cache(sim_vtd(sh->sims[L])), a);
    sim_observe_window(sh->sims[L], window_changed, a);
    rc = 0;
out:
    free(sets);
    free(wsets);
    free(wways);
    return rc;
}

static void lead_detach(share_t *sh, size_t L)
{
    cache_set_shadow(vtd_iotlb_cache(sim_vtd(sh->sims[L])), NULL);
    sim_observe_window(sh->sims[L], NULL, NULL);
}

/* After the pass: the followers of L that never differed take its
 * results; the others keep what the shadow saw for the next pass (all
 * of them alone when the shadow cannot be trusted). */
static void lead_settle(share_t *sh, size_t L)
{
    allassoc_t *a = sh->shadow[L];
    const iosim_sim_t *ls = sh->sims[L];
    const uint64_t *st = sim_counters(ls);
    allassoc_counts_t own;
    bool exact =
        allassoc_exact(a) &&
        allassoc_counts(a, iotlb_sets(ls), iotlb_ways(ls), &own) == 0 &&
        own.lookups == st[IOSIM_ST_IOTLB_LOOKUPS] &&
        own.hits == st[IOSIM_ST_IOTLB_HITS] &&
        own.evictions == st[IOSIM_ST_IOTLB_EVICTIONS] &&
        own.invalidated == st[IOSIM_ST_IOTLB_INVAL_ENTRIES];
    for (size_t i = 0; i < sh->n; i++) {
        member_t *f = &sh->m[i];
        if (f->role != ROLE_FOLLOW || f->leader != L)
            continue;
        if (!exact) {
            f->alone = true;
            continue;
        }
        allassoc_watch_result(a, f->watch, &f->differs, &f->key);
        allassoc_counts_t c;
        if (f->differs ||
            allassoc_counts(a, iotlb_sets(sh->sims[i]), iotlb_ways(sh->sims[i]),
                            &c) ||
            c.hits != own.hits)
            continue;
        sim_adopt_results(sh->sims[i], ls);
        sim_set_counter(sh->sims[i], IOSIM_ST_IOTLB_EVICTIONS, c.evictions);
        sim_set_counter(sh->sims[i], IOSIM_ST_IOTLB_INVAL_ENTRIES,
                        c.invalidated);
        f->role = ROLE_DONE;
        sh->shared++;
    }
}

/* Roles of the sims not done yet, for pass p (0-based). */
static void plan_pass(share_t *sh, size_t p)
{
    for (size_t i = 0; i < sh->n; i++) {
        member_t *mi = &sh->m[i];
        if (mi->role == ROLE_DONE)
            continue;
        mi->role = ROLE_ALONE;
        if (p >= 2 || mi->alone || mi->group == SIZE_MAX)
            continue;
        if (p == 1 && mi->differs == 0)
            continue; /* (not reached: a follower that never differed
                         is done) */
        /* the first earlier sim of its class leads it */
        for (size_t j = 0; j < i; j++) {
            member_t *mj = &sh->m[j];
            if (mj->role != ROLE_ALONE && mj->role != ROLE_LEAD)
                continue;
            if (mj->group != mi->group || mj->alone ||
                (p == 1 && (mj->differs != mi->differs || mj->key != mi->key ||
                            mj->leader != mi->leader)))
                continue;
            mj->role = ROLE_LEAD;
            mi->role = ROLE_FOLLOW;
            mi->leader = j;
            break;
        }
    }
}

static int run_pass(share_t *sh, iosim_trace_reader_t *r, unsigned threads,
                    iosim_progress_fn progress, void *arg, iosim_err_t *err)
{
    iosim_sim_t **run = calloc(sh->n, sizeof *run);
    if (!run)
        return iosim_err_set(err, "out of memory");
    size_t nrun = 0;
    int rc = 0;
    for (size_t i = 0; i < sh->n && !rc; i++) {
        if (sh->m[i].role == ROLE_LEAD)
            rc = lead_attach(sh, i, err);
        if (sh->m[i].role == ROLE_LEAD || sh->m[i].role == ROLE_ALONE)
            run[nrun++] = sh->sims[i];
    }
    if (!rc)
        rc = iosim_replay_reader_threads(r, run, nrun, threads, progress, arg,
                                         err);
    for (size_t i = 0; i < sh->n; i++) {
        if (!sh->shadow[i])
            continue;
        lead_detach(sh, i);
        if (!rc)
            lead_settle(sh, i);
        allassoc_free(sh->shadow[i]);
        sh->shadow[i] = NULL;
    }
    for (size_t i = 0; i < sh->n && !rc; i++) {
        member_t *mi = &sh->m[i];
        if (mi->role == ROLE_LEAD || mi->role == ROLE_ALONE) {
            mi->role = ROLE_DONE;
            sh->ran++;
        }
    }
    sh->passes++;
    free(run);
    return rc;
}

/* Groups: sims equal but for the IOTLB's geometry, able to share; note
 * says why sims that could have been grouped were not. */
static int make_groups(share_t *sh, char *note, size_t len, iosim_err_t *err)
{
    sig_t *sig = calloc(sh->n, sizeof *sig);
    if (!sig)
        return iosim_err_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < sh->n; i++) {
        config_each(iosim_sim_config(sh->sims[i]), sig_add, &sig[i]);
        if (sig[i].oom || !sig[i].text)
            rc = iosim_err_set(err, "out of memory");
    }
    for (size_t i = 0; i < sh->n && !rc; i++) {
        sh->m[i].group = SIZE_MAX;
        const char *no = ruled_out(sh->sims[i]);
        for (size_t j = 0; j < i; j++) {
            if (sig[j].len != sig[i].len ||
                memcmp(sig[j].text, sig[i].text, sig[i].len))
                continue;
            if (no && len && !note[0])
                snprintf(note, len, "separate sims: %s", no);
            if (!no && sh->m[j].group != SIZE_MAX)
                sh->m[i].group = sh->m[j].group;
            break;
        }
        if (!no && sh->m[i].group == SIZE_MAX)
            sh->m[i].group = i;
        else if (!no)
            sh->grouped = true;
    }
    for (size_t i = 0; i < sh->n; i++)
        free(sig[i].text);
    free(sig);
    return rc;
}

int iosim_replay_shared(iosim_trace_reader_t *r, const char *trace_path,
                        iosim_sim_t **sims, size_t nsims, unsigned threads,
                        iosim_progress_fn progress, void *progress_arg,
                        char *note, size_t note_len, iosim_err_t *err)
{
    if (note_len)
        note[0] = '\0';
    share_t sh = {.sims = sims, .n = nsims};
    sh.m = calloc(nsims + 1, sizeof *sh.m);
    sh.shadow = calloc(nsims + 1, sizeof *sh.shadow);
    int rc = -1;
    if (!sh.m || !sh.shadow) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    if (make_groups(&sh, note, note_len, err))
        goto out;
    iosim_trace_reader_t *own = NULL;
    for (size_t p = 0;; p++) {
        plan_pass(&sh, p);
        bool any = false;
        for (size_t i = 0; i < nsims; i++)
            any |= sh.m[i].role != ROLE_DONE;
        if (!any)
            break;
        if (p > 0) {
            iosim_trace_close(own);
            own = iosim_trace_open(trace_path, err);
            if (!own)
                goto out;
        }
        if (run_pass(&sh, p ? own : r, threads, progress, progress_arg, err)) {
            iosim_trace_close(own);
            goto out;
        }
    }
    iosim_trace_close(own);
    if (sh.shared && note_len)
        snprintf(note, note_len,
                 "%zu of %zu configurations took the run of another whose "
                 "IOTLB hit and missed at the same lookups (LRU stack "
                 "distances); sims run: %zu, passes over the trace: %zu",
                 sh.shared, nsims, sh.ran, sh.passes);
    else if (sh.grouped && note_len)
        snprintf(
            note, note_len,
            "separate sims: the IOTLB geometries hit and missed at "
            "different lookups (sims run: %zu, passes over the trace: %zu)",
            sh.ran, sh.passes);
    rc = 0;
out:
    free(sh.m);
    free(sh.shadow);
    return rc;
}
