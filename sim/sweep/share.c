/* share.c — several sims of one trace, with the runs of sims that would
 * compute the same shared where that is exact (iosim.h
 * iosim_replay_shared).
 *
 * Concepts:
 *   - A group: sims whose configurations are equal but for the
 *     geometry (sets, ways; the IOTLB's entries) of the shared caches —
 *     the IOTLB and the four paging-structure caches of first-level walks
 *     (vtd.psc_pml5 .. vtd.psc_pd) — each cache whose geometry differs
 *     within the group enabled and LRU, walks in flight completing
 *     (vtd.inval_walks_in_flight) and no rows of their own (epochs,
 *     translation log, access dump).  In such a sim nothing depends on
 *     those caches but through the hit or miss of each lookup: the OS
 *     policy, its page tables and its invalidations never read them; a
 *     lookup costs its hit_ns whatever it finds; what a miss does next (the
 *     walk, the next PSC probed, the fill) depends only on the tables and
 *     the other caches; an invalidation's time is counted per descriptor
 *     (vtd.c submit_one), not per entry removed.  So two sims of a group
 *     whose shared caches hit and missed at the same lookups end with the
 *     same counters, histograms and warnings, except what the caches count
 *     of their own lines: the IOTLB's evictions and entries invalidated,
 *     the PSCs' entries invalidated (psc.invalidated).
 *   - Pass 1: the sim of each group with the most lines in its shared
 *     caches (its leader: geometries that hold a stream's working set
 *     hit and miss alike, so the largest is the likeliest to serve others)
 *     runs with an all-associativity shadow (cache/allassoc.h, LRU stack
 *     distances) on each of its caches whose geometry differs within the
 *     group, which compares every other member's outcome with the
 *     leader's, lookup by lookup; a member that differed and whose
 *     differences so far (their count and positions) equal no other
 *     member's is no longer followed, nor are the set counts only such
 *     members used (allassoc_watch_give_up, checked every 1,024 lookups:
 *     it runs alone in pass 2 either way).  A member that never differed
 *     in any takes the leader's results (system.h sim_adopt_results) and
 *     its own counts of lines from the shadows.  Sims in no group run as
 *     themselves in the same decode.
 *   - Pass 2: the members that differed, in classes of equal differences
 *     (the count and a hash of their positions), each class's first
 *     member leading the rest, watched again: a shared hash is checked,
 *     never trusted.  Pass 3: whatever still differed, each sim alone.
 *     A pass reads the trace again: the records pass 1 kept (up to
 *     SHARE_KEEP_BYTES, iosim_trace_keep), else the file reopened by
 *     path and decoded again; a pass runs its sims on `threads` threads
 *     as iosim_replay_reader_threads does.
 *   - Checks that make a leader's shadows unusable (its members then run
 *     in the next pass): each shadow's own (allassoc_exact: one probe per
 *     lookup, a miss filled with the key looked up, a hit's page filled
 *     with the same key by a geometry that missed), and the leader's own
 *     counters equal to its shadows' counts of its geometry (the IOTLB's
 *     lookups, hits, evictions, invalidated; a PSC's misses).
 *   - Shared fronts (make_fronts): the sims a pass runs (leaders and sims
 *     alone) whose configurations are equal but for back-end keys (every
 *     key of a translation cache: a row choosing a replacement policy
 *     names one, cache_prefixes) and that sim_front_ruled_out allows run
 *     as the back ends of one front sim (system.h sim_front_attach): the
 *     trace's view, the OS policy, its page tables and invalidations run
 *     once, each back's caches, walks and device pipeline do the front's
 *     log; the threads beyond the pass's sims run a front's back ends.
 *     A leader's shadows stay on its caches as a back end.
 *   - Threads: a pass's threads beyond its sims (leaders and sims alone)
 *     each take one leader's shadows (allassoc_feed: the leader's thread
 *     queues its caches' operations, the feed's thread updates the
 *     stacks; in the same order, so the same results), so a first pass of
 *     one leader runs on two threads; then a second each, first leaders
 *     first, splitting each shadow's set counts with the first (a feed of
 *     two threads, allassoc_feed_new_threads: with --threads 3 a first
 *     pass of one leader runs on three); the rest run fronts' back ends
 *     and decode ahead (iosim_replay_reader_threads).
 * Assumptions: the sims were made for this trace (iosim_sim_new with its
 *   metadata) and were fed nothing yet.
 * Not done: sharing between sims that differ in a key the front reads
 *   (timing of the invalidation queue, the OS policy, the hypervisor
 *   mode: each such class has a front of its own; hv modes other than
 *   none run whole); an error is reported as the first failing sim of a
 *   pass meets it (a sim whose run was shared fails with its leader or
 *   front), named as the first sim that run stands for (name_first).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/vec.h"
#include "cache/allassoc.h"
#include "cache/cache.h"
#include "config/config.h"
#include "stats/stat_list.h"
#include "system/services.h"
#include "system/system.h"

/* The most memory pass 1's records are kept in for the next pass
 * (iosim_trace_keep): 349,525 records, all of every shipped trace but
 * redis-strict's (413,694); a longer trace is decoded again. */
#define SHARE_KEEP_BYTES ((size_t)16 << 20)

/* The shared caches: the IOTLB, then the PSCs of first-level walks. */
#define NCACHES 5
static const char *const cache_name[NCACHES] = {
    "vtd.iotlb", "vtd.psc_pml5", "vtd.psc_pml4", "vtd.psc_pdpt", "vtd.psc_pd"};

static const iosim_cache_params_t *params_of(const iosim_sim_t *s, unsigned x)
{
    const iosim_config_t *c = iosim_sim_config(s);
    return x == 0 ? &c->vtd.iotlb : &c->vtd.psc[x - 1];
}

static cache_t *cache_of(iosim_sim_t *s, unsigned x)
{
    return x == 0 ? vtd_iotlb_cache(sim_vtd(s))
                  : vtd_psc_cache(sim_vtd(s), x - 1);
}

static bool same_geometry(const iosim_sim_t *a, const iosim_sim_t *b,
                          unsigned x)
{
    return params_of(a, x)->sets == params_of(b, x)->sets &&
           params_of(a, x)->ways == params_of(b, x)->ways;
}

/* The keys a group's members may differ in. */
static bool geometry_key(const char *key)
{
    if (!strcmp(key, "vtd.iotlb.entries"))
        return true;
    for (unsigned x = 0; x < NCACHES; x++) {
        size_t n = strlen(cache_name[x]);
        if (!strncmp(key, cache_name[x], n) &&
            (!strcmp(key + n, ".sets") || !strcmp(key + n, ".ways")))
            return true;
    }
    return false;
}

/* The caches' key prefixes ("vtd.iotlb.", ...): every row that chooses
 * a replacement policy names a cache (params_vtd.c CACHE_ROWS), found in
 * the parameter tables.  Its keys are read only by the VT-d model's
 * lookups, fills and invalidations of that cache's lines: the back-end
 * keys of a shared front (system.h sim_front_attach). */
#define MAX_CACHES 32
typedef struct cache_prefixes {
    char p[MAX_CACHES][64];
    size_t n;
} cache_prefixes_t;

static void cache_prefixes(cache_prefixes_t *c)
{
    c->n = 0;
    const iosim_param_t *iotlb = iosim_param_find("vtd.iotlb.replacement");
    const iosim_param_t *const *t = iosim_param_table_list();
    for (size_t i = 0; iotlb && t && t[i]; i++)
        for (const iosim_param_t *row = t[i]; row->path; row++) {
            size_t len = strlen(row->path), tail = strlen("replacement");
            if (row->type != IOSIM_P_STR || row->choices != iotlb->choices ||
                len <= tail || len - tail >= sizeof c->p[0] ||
                c->n == MAX_CACHES)
                continue;
            memcpy(c->p[c->n], row->path, len - tail);
            c->p[c->n++][len - tail] = '\0';
        }
}

static bool back_end_key(const cache_prefixes_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(key, c->p[i], strlen(c->p[i])))
            return true;
    return false;
}

/* A signature: the byte images (config_param_image) of a
 * configuration's rows but those its skip leaves out, in table order.
 * Every sim's configuration validated (iosim_sim_new), so two sims'
 * signatures are equal exactly when their configurations print the same
 * but for those rows, without printing them. */
typedef struct sig_skip {
    bool row[IOSIM_PARAM_ROWS_MAX]; /* by row index (table order) */
} sig_skip_t;

typedef struct sig {
    char *text;
    size_t len, cap;
    bool oom;
} sig_t;

/* back NULL: leave out the geometry keys; else every back-end key. */
static void sig_skip_make(sig_skip_t *k, const cache_prefixes_t *back)
{
    size_t i = 0;
    const iosim_param_t *const *t = iosim_param_table_list();
    for (; t && *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++, i++)
            if (i < IOSIM_PARAM_ROWS_MAX)
                k->row[i] =
                    back ? back_end_key(back, p->path) : geometry_key(p->path);
}

static void sig_make(sig_t *g, const iosim_config_t *c, const sig_skip_t *k)
{
    size_t i = 0;
    const iosim_param_t *const *t = iosim_param_table_list();
    for (; t && *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++, i++) {
            if (i < IOSIM_PARAM_ROWS_MAX && k->row[i])
                continue;
            if (vec_reserve(&g->text, &g->cap, g->len + IOSIM_PARAM_IMAGE_MAX,
                            8192)) {
                g->oom = true;
                return;
            }
            g->len +=
                config_param_image(c, p, (unsigned char *)g->text + g->len);
        }
}

/* Why sim s cannot share its run with sim t, of equal configurations but
 * for the caches' geometry, or NULL (why: 160 bytes). */
static const char *ruled_out(const iosim_sim_t *s, const iosim_sim_t *t,
                             char *why)
{
    const iosim_config_t *c = iosim_sim_config(s);
    if (sim_writes_rows(s) || sim_writes_rows(t))
        return "a per-configuration output (--epoch, --xlate-log, "
               "--dump-accesses) is written";
    if (strcmp(c->vtd.inval_walks_in_flight, "complete"))
        return "vtd.inval_walks_in_flight is not complete";
    for (unsigned x = 0; x < NCACHES; x++) {
        if (same_geometry(s, t, x))
            continue;
        const iosim_cache_params_t *p = params_of(s, x);
        const cache_repl_ops_t *repl = cache_repl_find(p->replacement);
        if (!p->enabled || !repl || repl->kind != CACHE_REPL_LRU) {
            snprintf(why, 160, "%s %s", cache_name[x],
                     p->enabled ? "replacement is not lru" : "is disabled");
            return why;
        }
    }
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

/* A leader's shadows in this pass: one per cache whose geometry differs
 * among its members (NULL for the others). */
typedef struct shadows {
    allassoc_t *a[NCACHES];
    allassoc_feed_t *feed; /* their operations' thread, or NULL */
} shadows_t;

typedef struct share {
    iosim_sim_t **sims;
    size_t n;
    member_t *m;
    shadows_t *shadow; /* per sim: ROLE_LEAD's shadows in this pass */
    size_t shared, ran, passes;
    bool grouped; /* some group has two members or more */
    /* shared fronts: per sim, its front signature (the configuration
     * without back-end keys) or NULL when it cannot share one; the
     * fronts made so far and the sims run as their back ends */
    sig_t *front_sig;
    cache_prefixes_t prefixes;
    size_t fronts, backs;
    const char *front_no; /* why a sim could not share a front */
} share_t;

static uint32_t sets_of(const iosim_sim_t *s, unsigned x)
{
    return params_of(s, x)->sets;
}
static uint32_t ways_of(const iosim_sim_t *s, unsigned x)
{
    return params_of(s, x)->ways;
}

static void window_changed(void *arg, bool begin)
{
    shadows_t *sw = arg;
    for (unsigned x = 0; x < NCACHES; x++)
        if (sw->a[x])
            allassoc_window(sw->a[x], begin);
}

/* Leader L's shadow of cache x watching its nf followers fol[] (sets,
 * wsets, wways: scratch of nf + 1 entries). */
static allassoc_t *shadow_new(share_t *sh, size_t L, unsigned x,
                              const size_t *fol, size_t nf, uint32_t *sets,
                              uint32_t *wsets, uint32_t *wways,
                              iosim_err_t *err)
{
    size_t nsets = 0;
    uint32_t max_ways = ways_of(sh->sims[L], x);
    sets[nsets++] = sets_of(sh->sims[L], x);
    for (size_t k = 0; k < nf; k++) {
        uint32_t s = sets_of(sh->sims[fol[k]], x);
        uint32_t w = ways_of(sh->sims[fol[k]], x);
        bool listed = false;
        for (size_t j = 0; j < nsets; j++)
            listed |= sets[j] == s;
        if (!listed)
            sets[nsets++] = s;
        if (w > max_ways)
            max_ways = w;
        wsets[k] = s;
        wways[k] = w;
    }
    allassoc_t *a = allassoc_new(sets, nsets, max_ways, err);
    if (a && allassoc_watch(a, sets_of(sh->sims[L], x), ways_of(sh->sims[L], x),
                            wsets, wways, nf, err)) {
        allassoc_free(a);
        a = NULL;
    }
    /* a follower alone in its differences (checked every 1,024 lookups,
     * whether or not the others differed) is left, and the stacks only
     * such followers used stop: it runs alone in the next pass either way
     * (0503852 dropped the wait until every follower had differed) */
    if (a)
        allassoc_watch_give_up(a);
    return a;
}

/* The shadows of leader L watching its followers, one on each cache
 * whose geometry differs among them; with `feed` threads (0, 1 or 2),
 * updated on threads of their own (allassoc_feed_new_threads: none if it
 * cannot start one; with two, each shadow's set counts split between
 * them). */
static int lead_attach(share_t *sh, size_t L, unsigned feed, iosim_err_t *err)
{
    size_t nf = 0;
    size_t *fol = calloc(sh->n + 1, sizeof *fol);
    uint32_t *sets = calloc(sh->n + 1, sizeof *sets);
    uint32_t *wsets = calloc(sh->n + 1, sizeof *wsets);
    uint32_t *wways = calloc(sh->n + 1, sizeof *wways);
    int rc = -1;
    if (!fol || !sets || !wsets || !wways) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < sh->n; i++) {
        member_t *f = &sh->m[i];
        if (f->role == ROLE_FOLLOW && f->leader == L) {
            f->watch = nf;
            fol[nf++] = i;
        }
    }
    shadows_t *sw = &sh->shadow[L];
    for (unsigned x = 0; x < NCACHES; x++) {
        bool varies = false;
        for (size_t k = 0; k < nf; k++)
            varies |= !same_geometry(sh->sims[L], sh->sims[fol[k]], x);
        if (!varies)
            continue;
        sw->a[x] = shadow_new(sh, L, x, fol, nf, sets, wsets, wways, err);
        if (!sw->a[x])
            goto out;
        cache_set_shadow(cache_of(sh->sims[L], x), sw->a[x]);
        if (feed && !sw->feed) {
            iosim_err_t ignored; /* no thread: the leader's own does it */
            sw->feed = allassoc_feed_new_threads(feed, &ignored);
        }
        if (sw->feed && allassoc_feed_add(sw->feed, sw->a[x], err))
            goto out;
    }
    sim_observe_window(sh->sims[L], window_changed, sw);
    rc = 0;
out:
    free(fol);
    free(sets);
    free(wsets);
    free(wways);
    return rc;
}

static void lead_detach(share_t *sh, size_t L)
{
    for (unsigned x = 0; x < NCACHES; x++)
        if (sh->shadow[L].a[x])
            cache_set_shadow(cache_of(sh->sims[L], x), NULL);
    sim_observe_window(sh->sims[L], NULL, NULL);
    allassoc_feed_free(sh->shadow[L].feed);
    sh->shadow[L].feed = NULL;
}

static void lead_free(share_t *sh, size_t L)
{
    for (unsigned x = 0; x < NCACHES; x++) {
        allassoc_free(sh->shadow[L].a[x]);
        sh->shadow[L].a[x] = NULL;
    }
}

/* The leader's own counters against its shadows' counts of its
 * geometry: the IOTLB's lookups, hits, evictions and entries
 * invalidated; a PSC's misses (PML4E, PDPTE, PDE: psc.l1..l3_misses). */
static bool shadows_agree(share_t *sh, size_t L)
{
    static const enum iosim_stat_id psc_misses[NCACHES] = {
        0, 0, IOSIM_ST_PSC1_MISSES, IOSIM_ST_PSC2_MISSES, IOSIM_ST_PSC3_MISSES};
    const iosim_sim_t *ls = sh->sims[L];
    const uint64_t *st = sim_counters(ls);
    for (unsigned x = 0; x < NCACHES; x++) {
        allassoc_t *a = sh->shadow[L].a[x];
        allassoc_counts_t own;
        if (!a)
            continue;
        if (!allassoc_exact(a) ||
            allassoc_counts(a, sets_of(ls, x), ways_of(ls, x), &own))
            return false;
        if (x == 0 && (own.lookups != st[IOSIM_ST_IOTLB_LOOKUPS] ||
                       own.hits != st[IOSIM_ST_IOTLB_HITS] ||
                       own.evictions != st[IOSIM_ST_IOTLB_EVICTIONS] ||
                       own.invalidated != st[IOSIM_ST_IOTLB_INVAL_ENTRIES]))
            return false;
        if (psc_misses[x] && own.lookups - own.hits != st[psc_misses[x]])
            return false;
    }
    return true;
}

/* Follower i of leader L, which differed nowhere, takes L's results and
 * its own counts of lines from the shadows.  False (nothing changed) if
 * a shadow's counts of it disagree with that. */
static bool follower_adopt(share_t *sh, size_t L, size_t i)
{
    const iosim_sim_t *ls = sh->sims[L];
    allassoc_counts_t own[NCACHES], c[NCACHES];
    for (unsigned x = 0; x < NCACHES; x++) {
        allassoc_t *a = sh->shadow[L].a[x];
        if (a && (allassoc_counts(a, sets_of(ls, x), ways_of(ls, x), &own[x]) ||
                  allassoc_counts(a, sets_of(sh->sims[i], x),
                                  ways_of(sh->sims[i], x), &c[x]) ||
                  c[x].hits != own[x].hits))
            return false;
    }
    uint64_t psc_inval = sim_counters(ls)[IOSIM_ST_PSC_INVAL_ENTRIES];
    sim_adopt_results(sh->sims[i], ls);
    for (unsigned x = 0; x < NCACHES; x++) {
        if (!sh->shadow[L].a[x])
            continue;
        if (x == 0) {
            sim_set_counter(sh->sims[i], IOSIM_ST_IOTLB_EVICTIONS,
                            c[x].evictions);
            sim_set_counter(sh->sims[i], IOSIM_ST_IOTLB_INVAL_ENTRIES,
                            c[x].invalidated);
        } else {
            psc_inval = psc_inval - own[x].invalidated + c[x].invalidated;
        }
    }
    sim_set_counter(sh->sims[i], IOSIM_ST_PSC_INVAL_ENTRIES, psc_inval);
    return true;
}

/* After the pass: the followers of L that never differed take its
 * results; the others keep what the shadows saw for the next pass (all
 * of them alone when the shadows cannot be trusted). */
static void lead_settle(share_t *sh, size_t L)
{
    bool exact = shadows_agree(sh, L);
    for (size_t i = 0; i < sh->n; i++) {
        member_t *f = &sh->m[i];
        if (f->role != ROLE_FOLLOW || f->leader != L)
            continue;
        if (!exact) {
            f->alone = true;
            continue;
        }
        /* the differences of every shadowed cache, as one count and key */
        f->differs = 0;
        f->key = 0;
        for (unsigned x = 0; x < NCACHES; x++) {
            uint64_t d, k;
            if (!sh->shadow[L].a[x])
                continue;
            allassoc_watch_result(sh->shadow[L].a[x], f->watch, &d, &k);
            f->differs += d;
            f->key = (f->key ^ k ^ x) * 0x100000001b3ull;
        }
        if (f->differs == 0 && follower_adopt(sh, L, i)) {
            f->role = ROLE_DONE;
            sh->shared++;
        }
    }
}

/* Lines of sim i's shared caches (sets x ways, summed). */
static uint64_t lines_of(const share_t *sh, size_t i)
{
    uint64_t n = 0;
    for (unsigned x = 0; x < NCACHES; x++)
        n += (uint64_t)sets_of(sh->sims[i], x) * ways_of(sh->sims[i], x);
    return n;
}

/* Roles of the sims not done yet, for pass p (0-based). */
static void plan_pass(share_t *sh, size_t p)
{
    /* pass 1: each group's sim of the most lines (the first of them)
     * leads the rest: geometries that hold a stream's working set hit
     * and miss alike, so the largest is the likeliest to lead others
     * that never differ; smaller ones that differ each at lookups of
     * their own leave its shadows early (allassoc_watch_give_up) */
    for (size_t i = 0; i < sh->n && p == 0; i++) {
        member_t *mi = &sh->m[i];
        if (mi->role == ROLE_DONE)
            continue;
        mi->role = ROLE_ALONE;
        if (mi->alone || mi->group == SIZE_MAX)
            continue;
        size_t L = i;
        for (size_t j = 0; j < sh->n; j++)
            if (sh->m[j].group == mi->group && !sh->m[j].alone &&
                sh->m[j].role != ROLE_DONE &&
                (lines_of(sh, j) > lines_of(sh, L) ||
                 (lines_of(sh, j) == lines_of(sh, L) && j < L)))
                L = j;
        if (L != i) {
            mi->role = ROLE_FOLLOW;
            mi->leader = L;
        }
    }
    for (size_t i = 0; i < sh->n && p == 0; i++)
        if (sh->m[i].role == ROLE_FOLLOW)
            sh->m[sh->m[i].leader].role = ROLE_LEAD;
    for (size_t i = 0; i < sh->n && p > 0; i++) {
        member_t *mi = &sh->m[i];
        if (mi->role == ROLE_DONE)
            continue;
        mi->role = ROLE_ALONE;
        if (p >= 2 || mi->alone || mi->group == SIZE_MAX)
            continue;
        if (mi->differs == 0)
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

/* The sims of a pass (run[], nrun) whose front signatures are equal run
 * as the back ends of one front (system.h sim_front_attach): run[] then
 * holds the front in the place of its first back, the others leave it.
 * fronts[] (nrun entries) gets the fronts made, nfronts their count. */
static int make_fronts(share_t *sh, iosim_sim_t **run, size_t *nrun,
                       iosim_sim_t **fronts, size_t *nfronts, iosim_err_t *err)
{
    size_t n = *nrun, *idx = calloc(n + 1, sizeof *idx);
    iosim_sim_t **backs = calloc(n + 1, sizeof *backs);
    bool *taken = calloc(n + 1, sizeof *taken);
    int rc = 0;
    if (!idx || !backs || !taken) {
        rc = iosim_err_set(err, "out of memory");
        goto out;
    }
    /* the sig of each run entry (run[] holds sims of sh->sims) */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sh->n; j++)
            if (sh->sims[j] == run[i])
                idx[i] = j;
    size_t w = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (taken[i])
            continue;
        const sig_t *gi = &sh->front_sig[idx[i]];
        size_t nb = 0;
        backs[nb++] = run[i];
        for (size_t j = i + 1; j < n && gi->text; j++) {
            const sig_t *gj = &sh->front_sig[idx[j]];
            if (!taken[j] && gj->text && gj->len == gi->len &&
                !memcmp(gj->text, gi->text, gi->len)) {
                taken[j] = true;
                backs[nb++] = run[j];
            }
        }
        if (nb == 1) {
            run[w++] = run[i];
            continue;
        }
        iosim_sim_t *f =
            iosim_sim_new(iosim_sim_config(run[i]), iosim_sim_label(run[i]),
                          sim_meta(run[i]), err);
        if (!f || sim_front_attach(f, backs, nb, err)) {
            iosim_sim_free(f);
            rc = -1;
            break;
        }
        fronts[(*nfronts)++] = f;
        run[w++] = f;
        sh->fronts++;
        sh->backs += nb;
    }
    *nrun = w;
out:
    free(idx);
    free(backs);
    free(taken);
    return rc;
}

/* The first sim (by index) whose results sim k's run of this pass gives:
 * k, or for a leader its first follower if that comes before it. */
static size_t first_of(const share_t *sh, size_t k)
{
    size_t f = k;
    for (size_t i = 0; i < f && sh->m[k].role == ROLE_LEAD; i++)
        if (sh->m[i].role == ROLE_FOLLOW && sh->m[i].leader == k)
            f = i;
    return f;
}

/* The run of this pass that stands first for sim i (first_of), or
 * SIZE_MAX. */
static size_t run_at(const share_t *sh, size_t i)
{
    const member_t *mi = &sh->m[i];
    size_t k = mi->role == ROLE_FOLLOW ? mi->leader : i;
    if (mi->role == ROLE_DONE || first_of(sh, k) != i)
        return SIZE_MAX;
    return k;
}

/* A pass's error names its failing sim; a leader's names the first sim
 * it stands for instead, as --plain's names its first failing sim (the
 * members of a group meet the same input: the leader's own error). */
static void name_first(const share_t *sh, iosim_err_t *err)
{
    for (size_t k = 0; k < sh->n; k++) {
        size_t f = first_of(sh, k);
        char from[256], msg[sizeof err->msg];
        if (f == k)
            continue;
        snprintf(from, sizeof from, ": %s: ", iosim_sim_label(sh->sims[k]));
        const char *at = strstr(err->msg, from);
        if (!at)
            continue;
        snprintf(msg, sizeof msg, "%.*s: %s: %s", (int)(at - err->msg),
                 err->msg, iosim_sim_label(sh->sims[f]), at + strlen(from));
        snprintf(err->msg, sizeof err->msg, "%s", msg);
        return;
    }
}

static int run_pass(share_t *sh, iosim_trace_reader_t *r, unsigned threads,
                    iosim_progress_fn progress, void *arg, iosim_err_t *err)
{
    iosim_sim_t **run = calloc(sh->n, sizeof *run);
    iosim_sim_t **fronts = calloc(sh->n, sizeof *fronts);
    if (!run || !fronts) {
        free(run);
        free(fronts);
        return iosim_err_set(err, "out of memory");
    }
    size_t nrun = 0, nfronts = 0;
    unsigned t = threads;
    if (t == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        t = c > 0 ? (unsigned)c : 1;
    }
    /* the threads beyond the pass's sims update its leaders' shadows (a
     * thread each, first leaders first; then a second each, first leaders
     * first, splitting their set counts) */
    size_t spare = 0;
    for (size_t i = 0; i < sh->n; i++)
        spare += sh->m[i].role == ROLE_LEAD || sh->m[i].role == ROLE_ALONE;
    spare = spare < t ? t - spare : 0;
    size_t leads = 0, nth = 0;
    for (size_t i = 0; i < sh->n; i++)
        leads += sh->m[i].role == ROLE_LEAD;
    int rc = 0;
    for (size_t i = 0; i < sh->n && !rc; i++) {
        if (sh->m[i].role == ROLE_LEAD) {
            unsigned feed = (nth < spare) + (leads + nth < spare);
            rc = lead_attach(sh, i, feed, err);
            nth++;
        }
        /* in the order of the first sim each run stands for: the first
         * of them to fail is --plain's first failing sim (name_first) */
        size_t k = run_at(sh, i);
        if (k != SIZE_MAX)
            run[nrun++] = sh->sims[k];
    }
    if (!rc)
        rc = make_fronts(sh, run, &nrun, fronts, &nfronts, err);
    /* and the back ends of its fronts */
    for (size_t k = 0; k < nfronts && !rc; k++)
        rc = sim_front_threads(fronts[k], nrun < t ? t / (unsigned)nrun : 1,
                               err);
    if (!rc && (rc = iosim_replay_reader_threads(r, run, nrun, threads,
                                                 progress, arg, err)))
        name_first(sh, err);
    for (size_t k = 0; k < nfronts; k++) {
        if (!rc && !sim_front_settle(fronts[k]))
            rc = iosim_err_set(err,
                               "%s: the back ends of a shared front saw "
                               "different page tables or queue times (a "
                               "bug; --plain runs each configuration alone)",
                               iosim_sim_label(fronts[k]));
        iosim_sim_free(fronts[k]);
    }
    for (size_t i = 0; i < sh->n; i++) {
        if (sh->m[i].role != ROLE_LEAD)
            continue;
        lead_detach(sh, i);
        if (!rc)
            lead_settle(sh, i);
        lead_free(sh, i);
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
    free(fronts);
    return rc;
}

/* Front signatures: a sim that can share a front (sim_front_ruled_out)
 * gets its configuration without the back-end keys; front_no says why
 * one that could not. */
static int front_sigs(share_t *sh, iosim_err_t *err)
{
    sh->front_sig = calloc(sh->n + 1, sizeof *sh->front_sig);
    if (!sh->front_sig)
        return iosim_err_set(err, "out of memory");
    cache_prefixes(&sh->prefixes);
    sig_skip_t *skip = malloc(sizeof *skip);
    if (!skip)
        return iosim_err_set(err, "out of memory");
    sig_skip_make(skip, &sh->prefixes);
    int rc = 0;
    for (size_t i = 0; i < sh->n && !rc; i++) {
        const char *no = sim_front_ruled_out(sh->sims[i]);
        if (no) {
            sh->front_no = sh->front_no ? sh->front_no : no;
            continue;
        }
        sig_t *g = &sh->front_sig[i];
        sig_make(g, iosim_sim_config(sh->sims[i]), skip);
        if (g->oom || !g->text)
            rc = iosim_err_set(err, "out of memory");
    }
    free(skip);
    return rc;
}

/* Groups: sims equal but for the IOTLB's geometry, able to share; note
 * says why sims that could have been grouped were not. */
static int make_groups(share_t *sh, char *note, size_t len, iosim_err_t *err)
{
    sig_t *sig = calloc(sh->n, sizeof *sig);
    if (!sig)
        return iosim_err_set(err, "out of memory");
    sig_skip_t *skip = malloc(sizeof *skip);
    int rc = skip ? 0 : iosim_err_set(err, "out of memory");
    if (skip)
        sig_skip_make(skip, NULL);
    for (size_t i = 0; i < sh->n && !rc; i++) {
        sig_make(&sig[i], iosim_sim_config(sh->sims[i]), skip);
        if (sig[i].oom || !sig[i].text)
            rc = iosim_err_set(err, "out of memory");
    }
    free(skip);
    /* sim i joins the group of the first earlier sim j of an equal
     * configuration (but for the caches' geometry) that it can share
     * with, and with every sim already in j's group */
    char why[160];
    for (size_t i = 0; i < sh->n && !rc; i++) {
        sh->m[i].group = i;
        for (size_t j = 0; j < i; j++) {
            if (sh->m[j].group != j || sig[j].len != sig[i].len ||
                memcmp(sig[j].text, sig[i].text, sig[i].len))
                continue;
            const char *no = NULL;
            for (size_t k = j; k < i && !no; k++)
                if (sh->m[k].group == j)
                    no = ruled_out(sh->sims[i], sh->sims[k], why);
            if (no) {
                if (len && !note[0])
                    snprintf(note, len, "separate sims: %s", no);
                continue;
            }
            sh->m[i].group = j;
            sh->grouped = true;
            break;
        }
    }
    /* a sim alone in its group runs as itself */
    for (size_t i = 0; i < sh->n; i++) {
        bool others = false;
        for (size_t k = 0; k < sh->n && !others; k++)
            others = k != i && sh->m[k].group == sh->m[i].group;
        if (!others)
            sh->m[i].group = SIZE_MAX;
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
    if (make_groups(&sh, note, note_len, err) || front_sigs(&sh, err))
        goto out;
    iosim_trace_reader_t *own = NULL;
    /* a later pass reads pass 1's records again from memory when they
     * fit in SHARE_KEEP_BYTES (iosim_trace_keep; else it decodes the
     * file again) */
    if (sh.grouped)
        (void)iosim_trace_keep(r, SHARE_KEEP_BYTES);
    for (size_t p = 0;; p++) {
        plan_pass(&sh, p);
        bool any = false;
        for (size_t i = 0; i < nsims; i++)
            any |= sh.m[i].role != ROLE_DONE;
        if (!any)
            break;
        if (p > 0) {
            iosim_trace_reader_t *next =
                iosim_trace_reopen(p == 1 ? r : own, trace_path, err);
            iosim_trace_close(own);
            own = next;
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
                 "IOTLB and paging-structure caches hit and missed at the "
                 "same lookups (LRU stack "
                 "distances); sims run: %zu, passes over the trace: %zu",
                 sh.shared, nsims, sh.ran, sh.passes);
    else if (sh.grouped && note_len)
        snprintf(
            note, note_len,
            "separate sims: the cache geometries hit and missed at "
            "different lookups (sims run: %zu, passes over the trace: %zu)",
            sh.ran, sh.passes);
    if (!sh.fronts && sh.front_no && sh.ran > 1 && note_len &&
        !strstr(note, sh.front_no)) {
        size_t used = strlen(note);
        snprintf(note + used, note_len - used, "%sno shared front: %s",
                 used ? "; " : "", sh.front_no);
    }
    if (sh.fronts && note_len) {
        size_t used = strlen(note);
        snprintf(note + used, note_len - used,
                 "%s%zu ran as the back ends of %zu shared front%s (the "
                 "trace's view, OS policy, page-table changes and "
                 "invalidations computed once a front)",
                 used ? "; " : "", sh.backs, sh.fronts,
                 sh.fronts == 1 ? "" : "s");
    }
    rc = 0;
out:
    for (size_t i = 0; sh.front_sig && i < nsims; i++)
        free(sh.front_sig[i].text);
    free(sh.front_sig);
    free(sh.m);
    free(sh.shadow);
    return rc;
}
