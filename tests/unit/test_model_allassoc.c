/* test_model_allassoc.c — every LRU geometry in one pass (cache/allassoc.h)
 * against separate caches.
 *
 * Concepts: the oracle is one generic LRU cache (cache.h) per geometry fed
 *   the same operations: a TLB access (look up, fill on a miss), a
 *   one-key invalidation, a predicate invalidation and a flush.  The
 *   one-pass counts of every (sets, ways) must equal what those caches
 *   count.  A hand-worked case pins the hole rule (an invalidated line
 *   leaves an empty way, so the next fill evicts nothing).
 *   Watching (allassoc_watch): the lookups where each geometry hit and the
 *   driving one missed, or the reverse, against the oracles' outcomes.
 * Not covered here: the VT-d use (tests/cli/iotlb_sweep.sh checks whole
 *   runs of shipped traces against separate iosim runs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache/allassoc.h"

#define NSETS 4
#define NWAYS 6
static const uint32_t SETS[NSETS] = {1, 2, 4, 16};
static const uint32_t WAYS[NWAYS] = {1, 2, 3, 4, 7, 12};

typedef struct oracle {
    cache_t *c;
    uint64_t hits, evictions, invalidated;
} oracle_t;

static cache_t *mk(uint32_t sets, uint32_t ways)
{
    iosim_cache_params_t p = {.enabled = true, .sets = sets, .ways = ways};
    snprintf(p.replacement, sizeof p.replacement, "lru");
    iosim_err_t err = {0};
    cache_t *c = cache_new("test", &p, 1, &err);
    assert_non_null(c);
    return c;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static bool match_odd_tag_low_addr(cache_key_t k, uint64_t val, void *arg)
{
    (void)val;
    uint64_t limit = *(const uint64_t *)arg;
    return (k.tag & 1) && k.addr < limit;
}

/* One TLB access on the oracle (true: a hit); on the driving cache the
 * shadow sees it. */
static bool oracle_access(oracle_t *o, uint64_t addr, uint64_t tag)
{
    if (cache_lookup_kv(o->c, addr, tag, NULL)) {
        o->hits++;
        return true;
    }
    o->evictions += cache_insert_kv(o->c, addr, tag, 0);
    return false;
}

/* The shadow's counts of (S, W) are the oracle's (a failing random case
 * names its seed). */
static void assert_oracle_counts(const allassoc_t *a, uint32_t S, uint32_t W,
                                 const oracle_t *o, uint64_t seed)
{
    allassoc_counts_t n;
    assert_int_equal(allassoc_counts(a, S, W, &n), 0);
    if (n.hits != o->hits || n.evictions != o->evictions ||
        n.invalidated != o->invalidated)
        print_error(
            "seed %llu: %u x %u: hits %llu (oracle %llu), "
            "evictions %llu (%llu), invalidated %llu (%llu)\n",
            (unsigned long long)seed, S, W, (unsigned long long)n.hits,
            (unsigned long long)o->hits, (unsigned long long)n.evictions,
            (unsigned long long)o->evictions, (unsigned long long)n.invalidated,
            (unsigned long long)o->invalidated);
    assert_int_equal(n.hits, o->hits);
    assert_int_equal(n.evictions, o->evictions);
    assert_int_equal(n.invalidated, o->invalidated);
}

/* With `feed` threads (1 or 2), the shadow's operations go to a feed
 * (allassoc_feed_new_threads; with two, each shadow's set counts split
 * between them), with a second shadow's (sets 2 and 16, driven by a 16 x
 * 1 cache with the same operations) interleaved on the same feed; both
 * must count what the oracles count. */
static void run_random(uint64_t seed, unsigned keys, unsigned ops,
                       unsigned feed)
{
    iosim_err_t err = {0};
    allassoc_t *a = allassoc_new(SETS, NSETS, 12, &err);
    assert_non_null(a);
    const uint32_t bsets[2] = {SETS[1], SETS[3]};
    allassoc_t *b = allassoc_new(bsets, 2, 12, &err);
    assert_non_null(b);
    cache_t *drive_b = mk(16, 1);
    cache_set_shadow(drive_b, b);
    allassoc_feed_t *f = NULL;
    oracle_t o[NSETS][NWAYS];
    for (size_t i = 0; i < NSETS; i++)
        for (size_t j = 0; j < NWAYS; j++)
            o[i][j] = (oracle_t){.c = mk(SETS[i], WAYS[j])};
    /* the driving cache: a geometry of its own (2 x 2) */
    cache_t *drive = mk(2, 2);
    cache_set_shadow(drive, a);
    /* every geometry watched against the driving one (2 sets x 2 ways);
     * the oracle's outcome of each lookup per geometry, to compare */
    uint32_t wsets[NSETS * NWAYS], wways[NSETS * NWAYS];
    for (size_t g = 0; g < NSETS * NWAYS; g++) {
        wsets[g] = SETS[g / NWAYS];
        wways[g] = WAYS[g % NWAYS];
    }
    assert_int_equal(allassoc_watch(a, 2, 2, wsets, wways, NSETS * NWAYS, &err),
                     0);
    if (feed) { /* (after the watch: a feed of two splits a) */
        f = allassoc_feed_new_threads(feed, &err);
        assert_non_null(f);
        assert_int_equal(allassoc_feed_add(f, a, &err), 0);
        assert_int_equal(allassoc_feed_add(f, b, &err), 0);
    }
    bool *hit = calloc((size_t)NSETS * NWAYS * ops, sizeof *hit);
    assert_non_null(hit);
    size_t lookups = 0;
    uint64_t s = seed;
    for (unsigned n = 0; n < ops; n++) {
        uint64_t r = rng_next(&s);
        uint64_t addr = (r >> 8) % keys, tag = (r >> 40) % 3;
        unsigned what = r % 100;
        if (what < 85) {
            if (!cache_lookup_kv(drive, addr, tag, NULL))
                cache_insert_kv(drive, addr, tag, 0);
            if (!cache_lookup_kv(drive_b, addr, tag, NULL))
                cache_insert_kv(drive_b, addr, tag, 0);
            for (size_t i = 0; i < NSETS; i++)
                for (size_t j = 0; j < NWAYS; j++)
                    hit[(i * NWAYS + j) * ops + lookups] =
                        oracle_access(&o[i][j], addr, tag);
            lookups++;
        } else if (what < 97) {
            cache_invalidate_kv(drive, addr, tag);
            cache_invalidate_kv(drive_b, addr, tag);
            for (size_t i = 0; i < NSETS; i++)
                for (size_t j = 0; j < NWAYS; j++)
                    o[i][j].invalidated +=
                        cache_invalidate_kv(o[i][j].c, addr, tag);
        } else if (what < 99) {
            uint64_t limit = addr;
            cache_invalidate_if(drive, match_odd_tag_low_addr, &limit);
            cache_invalidate_if(drive_b, match_odd_tag_low_addr, &limit);
            for (size_t i = 0; i < NSETS; i++)
                for (size_t j = 0; j < NWAYS; j++)
                    o[i][j].invalidated += cache_invalidate_if(
                        o[i][j].c, match_odd_tag_low_addr, &limit);
        } else if (n % 7 == 0) {
            cache_flush(drive);
            cache_flush(drive_b);
            for (size_t i = 0; i < NSETS; i++)
                for (size_t j = 0; j < NWAYS; j++)
                    cache_flush(o[i][j].c);
        }
    }
    assert_true(allassoc_exact(a));
    assert_true(allassoc_exact(b));
    allassoc_feed_free(f);
    /* watching: the lookups where each geometry's outcome differed from
     * the 2 x 2 one, by the oracles; equal outcome vectors give equal
     * keys, and here (no collision) different ones different keys */
    const bool *ref = &hit[(1 * NWAYS + 1) * ops]; /* SETS[1], WAYS[1] */
    size_t classes = 0;
    for (size_t g = 0; g < NSETS * NWAYS; g++) {
        uint64_t want = 0, differs, key;
        for (size_t k = 0; k < lookups; k++)
            want += hit[g * ops + k] != ref[k];
        allassoc_watch_result(a, g, &differs, &key);
        assert_int_equal(differs, want);
        bool new_class = true;
        for (size_t h = 0; h < g; h++) {
            uint64_t dh, kh;
            allassoc_watch_result(a, h, &dh, &kh);
            bool same =
                !memcmp(&hit[g * ops], &hit[h * ops], lookups * sizeof *hit);
            assert_int_equal(same, dh == differs && kh == key);
            new_class &= !same;
        }
        classes += new_class;
    }
    assert_true(classes > 1); /* the check can fail: outcomes differ */
    free(hit);
    for (size_t i = 0; i < NSETS; i++)
        for (size_t j = 0; j < NWAYS; j++) {
            allassoc_counts_t n;
            assert_int_equal(allassoc_counts(a, SETS[i], WAYS[j], &n), 0);
            assert_int_equal(n.hits, o[i][j].hits);
            assert_int_equal(n.evictions, o[i][j].evictions);
            assert_int_equal(n.invalidated, o[i][j].invalidated);
            if (SETS[i] == bsets[0] || SETS[i] == bsets[1]) {
                assert_int_equal(allassoc_counts(b, SETS[i], WAYS[j], &n), 0);
                assert_int_equal(n.hits, o[i][j].hits);
                assert_int_equal(n.evictions, o[i][j].evictions);
                assert_int_equal(n.invalidated, o[i][j].invalidated);
            }
            cache_free(o[i][j].c);
        }
    cache_set_shadow(drive, NULL);
    cache_free(drive);
    cache_set_shadow(drive_b, NULL);
    cache_free(drive_b);
    allassoc_free(a);
    allassoc_free(b);
}

/* Few keys: mostly hits, deep stacks; many keys: mostly misses.  Through
 * a feed's thread: the ring (FEED_RING entries) wraps several times,
 * predicate invalidations wait for it, and the second shadow's
 * operations interleave. */
typedef struct random_case {
    uint64_t seed;
    unsigned keys, ops;
    unsigned feed;
} random_case_t;
static const random_case_t few_keys = {0x1234567, 24, 20000, 0},
                           many_keys = {0xabcdef1, 200, 20000, 0},
                           feed_few_keys = {0x1234567, 24, 60000, 1},
                           feed_many_keys = {0xabcdef1, 200, 60000, 1},
                           feed2_few_keys = {0x1234567, 24, 60000, 2},
                           feed2_many_keys = {0xabcdef1, 200, 60000, 2};

static void test_random(void **state)
{
    const random_case_t *c = *state;
    run_random(c->seed, c->keys, c->ops, c->feed);
}

/* One set: A B C accessed (stack C B A), B invalidated (C _ A), D filled:
 * a 3-way set had an empty way, so nothing goes (stack D C A); a 2-way set
 * held C B, lost B, so D fills the hole (D C, A long gone: evicted when C
 * came).  Then A: hit only for 3 ways (depth 3).  Evictions: 1-way: B, C,
 * D, A each evict (4); 2-way: C evicts A, then A evicts C (2); 3-way:
 * none. */
static void test_hole_by_hand(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    const uint32_t one = 1;
    allassoc_t *a = allassoc_new(&one, 1, 3, &err);
    assert_non_null(a);
    allassoc_lookup(a, 'A', 0, false);
    allassoc_insert(a, 'A', 0);
    allassoc_lookup(a, 'B', 0, false);
    allassoc_insert(a, 'B', 0);
    allassoc_lookup(a, 'C', 0, false);
    allassoc_insert(a, 'C', 0);
    allassoc_invalidate(a, 'B', 0);
    allassoc_lookup(a, 'D', 0, false);
    allassoc_insert(a, 'D', 0);
    allassoc_lookup(a, 'A', 0, false);
    allassoc_insert(a, 'A', 0);
    assert_true(allassoc_exact(a));
    allassoc_counts_t n;
    static const uint64_t hits[4] = {0, 0, 0, 1}, ev[4] = {0, 4, 2, 0},
                          inv[4] = {0, 0, 1, 1};
    for (uint32_t w = 1; w <= 3; w++) {
        assert_int_equal(allassoc_counts(a, 1, w, &n), 0);
        assert_int_equal(n.hits, hits[w]);
        assert_int_equal(n.evictions, ev[w]);
        assert_int_equal(n.invalidated, inv[w]);
    }
    assert_int_equal(allassoc_counts(a, 2, 1, &n), -1);
    assert_int_equal(allassoc_counts(a, 1, 4, &n), -1);
    allassoc_free(a);
}

/* A missed lookup with no fill while some geometry holds the key (a stale
 * hit there): the one pass cannot follow, and says so.  State: the
 * feed's threads, 0 for none (allassoc_exact then waits for them: the
 * lookup that breaks exactness is applied there; with two, on both). */
static void test_inexact_detected(void **state)
{
    unsigned feed = *(const unsigned *)*state;
    iosim_err_t err = {0};
    /* with a feed of two threads, set counts 1 (ref's), 2 and 4 watched
     * and given up, split: 2 on the second thread, 4 on the first */
    const uint32_t sets[3] = {1, 2, 4}, ways[2] = {2, 2};
    allassoc_t *a = allassoc_new(sets, feed == 2 ? 3 : 1, 2, &err);
    assert_non_null(a);
    if (feed == 2) {
        assert_int_equal(allassoc_watch(a, 1, 2, sets + 1, ways, 2, &err), 0);
        allassoc_watch_give_up(a);
    }
    allassoc_feed_t *f = feed ? allassoc_feed_new_threads(feed, &err) : NULL;
    assert_true(!feed || (f && !allassoc_feed_add(f, a, &err)));
    allassoc_lookup(a, 1, 0, false);
    allassoc_insert(a, 1, 0);
    allassoc_lookup(a, 2, 0, false);
    allassoc_insert(a, 2, 0);
    allassoc_lookup(a, 3, 0, false);
    assert_true(allassoc_exact(a)); /* 3 was absent everywhere: fine */
    allassoc_lookup(a, 1, 0, false);
    assert_false(allassoc_exact(a)); /* 1 is held at depth 2 */
    allassoc_feed_free(f);
    allassoc_free(a);
}

/* Invalidations of keys no stack holds are skipped by their tag
 * (allassoc_invalidate: a tag no key given to the stacks had), so the
 * tags noted must be every one given.  One set, 16 ways: key 1 under
 * tags 0..11 (more tags than the shadow tells apart: 8) filled in turn,
 * stack (1,11) (1,10) ... (1,0).  Invalidated: (1,10) at depth 2, held
 * by every W >= 2; (1,0) at depth 12 (its place: the hole above it
 * stays), held by W >= 12; (7,3) and (1,20) by none (the tag 20 never
 * seen).  Evictions: 12 fills into W ways, 12 - W for W < 12.  Then,
 * (1,4) (1,5) (1,6) filled, a pending lookup (the driving cache missed
 * (1,5), held at depth 2) ended by an invalidation of an unseen tag
 * before its fill: inexact (test_inexact_detected's case),
 * as when the invalidation's tag was seen (a second shadow, the same
 * operations with (50,0) invalidated: nothing held, tag 0 seen).  State:
 * the feed's threads (0: none). */
static void test_invalidate_tags(void **state)
{
    unsigned feed = *(const unsigned *)*state;
    iosim_err_t err = {0};
    const uint32_t one = 1;
    allassoc_t *a = allassoc_new(&one, 1, 16, &err);
    allassoc_t *b = allassoc_new(&one, 1, 16, &err);
    assert_true(a && b);
    allassoc_feed_t *f = feed ? allassoc_feed_new_threads(feed, &err) : NULL;
    assert_true(!feed || (f && !allassoc_feed_add(f, a, &err) &&
                          !allassoc_feed_add(f, b, &err)));
    allassoc_invalidate(a, 1, 3); /* before any key: nothing */
    for (uint64_t t = 0; t < 12; t++) {
        allassoc_lookup(a, 1, t, false);
        allassoc_insert(a, 1, t);
    }
    allassoc_invalidate(a, 1, 10);
    allassoc_invalidate(a, 1, 0);
    allassoc_invalidate(a, 7, 3);
    allassoc_invalidate(a, 1, 20);
    assert_true(allassoc_exact(a));
    for (uint32_t w = 1; w <= 16; w++) {
        allassoc_counts_t n;
        assert_int_equal(allassoc_counts(a, 1, w, &n), 0);
        assert_int_equal(n.invalidated, w >= 12 ? 2 : w >= 2 ? 1 : 0);
        assert_int_equal(n.evictions, w < 12 ? 12 - w : 0);
        assert_int_equal(n.hits, 0);
    }
    allassoc_t *s[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        allassoc_lookup(s[k], 1, 4, false);
        allassoc_insert(s[k], 1, 4);
        allassoc_lookup(s[k], 1, 5, false);
        allassoc_insert(s[k], 1, 5);
        allassoc_lookup(s[k], 1, 6, false);
        allassoc_insert(s[k], 1, 6);
        assert_true(allassoc_exact(s[k]));
        allassoc_lookup(s[k], 1, 5, false); /* held at depth 2 */
        allassoc_invalidate(s[k], 50, k == 0 ? 21 : 0);
        allassoc_insert(s[k], 1, 5);
        assert_false(allassoc_exact(s[k]));
    }
    allassoc_feed_free(f);
    allassoc_free(a);
    allassoc_free(b);
}

/* allassoc_watch_give_up: the geometries that differed from the driving
 * one (1 set x 2 ways) and are alone in their differences (1 x 1, 2 x 2,
 * 4 x 3, by the oracles) are left and the twins followed to the end (16 x
 * 12 and 32 x 12 hold every key, so they hit and miss alike): the twins'
 * differences are the whole run's, the left ones' a part of theirs, and
 * the counts of the driving geometry and the twins' stay the oracles'.
 * With the driving geometry itself among the watched ones (`keep`: it
 * never differs, so it is followed, alone as it is) the same.  State:
 * {keep, feed}. */
typedef struct give_up_case {
    bool keep;
    unsigned feed; /* threads */
} give_up_case_t;
static const give_up_case_t give_up_direct = {false, 0},
                            give_up_feed = {false, 1}, give_up_ref = {true, 0},
                            give_up_split = {false, 2},
                            give_up_split_ref = {true, 2};

static void test_give_up(void **state)
{
    const give_up_case_t *c = *state;
    enum { OPS = 30000, KEYS = 30, NG = 6 };
    static const uint32_t sets[5] = {1, 2, 4, 16, 32};
    iosim_err_t err = {0};
    allassoc_t *a = allassoc_new(sets, 5, 12, &err);
    assert_non_null(a);
    allassoc_feed_t *f = NULL;
    cache_t *drive = mk(1, 2);
    cache_set_shadow(drive, a);
    /* the last: the driving geometry's own oracle, watched if keep */
    uint32_t wsets[NG] = {1, 2, 4, 16, 32, 1}, wways[NG] = {1, 2, 3, 12, 12, 2};
    const size_t nw = c->keep ? NG : NG - 1;
    oracle_t o[NG];
    for (size_t g = 0; g < NG; g++)
        o[g] = (oracle_t){.c = mk(wsets[g], wways[g])};
    assert_int_equal(allassoc_watch(a, 1, 2, wsets, wways, nw, &err), 0);
    allassoc_watch_give_up(a);
    /* with two threads, the same run unsplit and direct (u, its own
     * driving cache) gives the same results: the twins 16 x 12 and 32 x
     * 12 are on different threads (1 set, ref's, and 4 and 32 on the
     * first; 2 and 16 on the second) */
    allassoc_t *u = NULL;
    cache_t *drive_u = NULL;
    if (c->feed == 2) {
        assert_non_null(u = allassoc_new(sets, 5, 12, &err));
        assert_int_equal(allassoc_watch(u, 1, 2, wsets, wways, nw, &err), 0);
        allassoc_watch_give_up(u);
        drive_u = mk(1, 2);
        cache_set_shadow(drive_u, u);
    }
    if (c->feed) {
        f = allassoc_feed_new_threads(c->feed, &err);
        assert_non_null(f);
        assert_int_equal(allassoc_feed_add(f, a, &err), 0);
    }
    uint64_t differs[NG] = {0};
    uint64_t s = 0x5eed;
    for (unsigned n = 0; n < OPS; n++) {
        uint64_t r = rng_next(&s);
        uint64_t addr = (r >> 8) % KEYS, tag = (r >> 40) % 2;
        if (r % 100 < 95) {
            bool ref = cache_lookup_kv(drive, addr, tag, NULL);
            if (!ref)
                cache_insert_kv(drive, addr, tag, 0);
            if (u && !cache_lookup_kv(drive_u, addr, tag, NULL))
                cache_insert_kv(drive_u, addr, tag, 0);
            for (size_t g = 0; g < NG; g++)
                differs[g] += oracle_access(&o[g], addr, tag) != ref;
        } else {
            cache_invalidate_kv(drive, addr, tag);
            if (u)
                cache_invalidate_kv(drive_u, addr, tag);
            for (size_t g = 0; g < NG; g++)
                o[g].invalidated += cache_invalidate_kv(o[g].c, addr, tag);
        }
    }
    /* (split with the driving geometry watched: the results read before
     * allassoc_exact, so the feed's end applies the last decisions) */
    bool split_ref = c->feed == 2 && c->keep;
    if (!split_ref)
        assert_true(allassoc_exact(a));
    allassoc_feed_free(f);
    for (size_t g = 0; u && g < nw; g++) {
        uint64_t d, key, du, keyu;
        allassoc_watch_result(a, g, &d, &key);
        allassoc_watch_result(u, g, &du, &keyu);
        assert_int_equal(d, du);
        assert_int_equal(key, keyu);
        assert_int_equal(allassoc_watch_followed(a, g),
                         allassoc_watch_followed(u, g));
    }
    if (split_ref)
        assert_true(allassoc_exact(a));
    if (u) {
        assert_true(allassoc_exact(u));
        cache_set_shadow(drive_u, NULL);
        cache_free(drive_u);
        allassoc_free(u);
    }
    assert_int_equal(differs[3], differs[4]); /* twins */
    assert_int_equal(differs[NG - 1], 0);     /* the driving geometry */
    for (size_t g = 0; g < NG; g++) {
        bool follow = g >= 3, counted = follow;
        if (g < nw) {
            uint64_t d, key;
            allassoc_watch_result(a, g, &d, &key);
            assert_int_equal(allassoc_watch_followed(a, g), follow);
            if (follow)
                assert_int_equal(d, differs[g]);
            else
                assert_true(d > 0 && d < differs[g]);
        }
        if (counted) /* its set count is still updated */
            assert_oracle_counts(a, wsets[g], wways[g], &o[g], 0x5eed);
        cache_free(o[g].c);
    }
    cache_set_shadow(drive, NULL);
    cache_free(drive);
    allassoc_free(a);
}

/* A give-up decision still pending when the feed ends (split over two
 * threads, the last check's decision is applied by the part that reaches
 * it second; the first, unless both reach it at once, applies it only at
 * the feed's end, allassoc_feed_free -> link_finish).  Keys A..F all in set 0
 * of every set count (cache_index), so each geometry is a W-way LRU on them: a
 * key found at depth d hits for W >= d.  Driving cache 1 x 4; watched
 * 2 x 2 and 8 x 3 (second thread), 4 x 1 and 4 x 8 (first), 8 x 8
 * (second).  A alone up to lookup 2,000 (no differences: every
 * geometry followed through the checks at lookups 1 and 1,025), then
 * rounds over 2, 3, 4 and 5 keys: depth 2 (4 x 1 misses where ref hits),
 * 3 (2 x 2 too), 4 (8 x 3 too), 5 (ref misses, the W = 8 twins hit).
 * At the last check (lookup 2,049) the three small ones differ, each in
 * its own way: left, with that check's values; the twins followed.
 * Then more rounds (to lookup 2,150, before a next check at 3,073): the
 * left ones differ again after their check, so a part that kept them
 * would show later counts.  Against the unsplit direct run and the
 * oracles (differences counted by lookup number, brute force); with
 * two threads it fails when allassoc_feed_free does not apply the last
 * decisions (test_give_up's geometries are all left early).  State: the
 * feed's threads. */
static void test_give_up_late(void **state)
{
    const unsigned feed = *(const unsigned *)*state;
    enum { NG = 5, CHECK = 2049 };
    static const uint32_t sets[4] = {1, 2, 4, 8};
    static const uint32_t wsets[NG] = {2, 8, 4, 4, 8},
                          wways[NG] = {2, 3, 1, 8, 8};
    iosim_err_t err = {0};
    allassoc_t *a = allassoc_new(sets, 4, 8, &err), *u = NULL;
    assert_non_null(a);
    assert_non_null(u = allassoc_new(sets, 4, 8, &err));
    cache_t *drive = mk(1, 4), *drive_u = mk(1, 4);
    cache_set_shadow(drive, a);
    cache_set_shadow(drive_u, u);
    assert_int_equal(allassoc_watch(a, 1, 4, wsets, wways, NG, &err), 0);
    assert_int_equal(allassoc_watch(u, 1, 4, wsets, wways, NG, &err), 0);
    allassoc_watch_give_up(a);
    allassoc_watch_give_up(u);
    allassoc_feed_t *f = NULL;
    if (feed) {
        assert_non_null(f = allassoc_feed_new_threads(feed, &err));
        assert_int_equal(allassoc_feed_add(f, a, &err), 0);
    }
    uint64_t key[6]; /* A..F: set 0 of 8 sets (and so of 4, 2, 1) */
    for (uint64_t x = 1, k = 0; k < 6; x++)
        if (cache_index(x, 0, 7) == 0)
            key[k++] = x;
    oracle_t o[NG + 1]; /* the last: ref's own */
    for (size_t g = 0; g <= NG; g++)
        o[g] =
            (oracle_t){.c = mk(g < NG ? wsets[g] : 1, g < NG ? wways[g] : 4)};
    uint64_t differs[NG] = {0}, at_check[NG] = {0};
    unsigned n = 0; /* lookups */
    /* the sequence: A x 2000, then rounds of m keys B.. (m = 2, 3, 4, 5,
     * three each), then rounds of 2, 3 and 4 until 2,150 lookups */
    static const unsigned m_first[4] = {2, 3, 4, 5}, m_after[3] = {2, 3, 4};
    unsigned step = 0, rep = 0, pos = 0;
    while (n < 2150) {
        uint64_t k = key[0];
        if (n >= 2000) {
            bool first = step < 4;
            unsigned m = first ? m_first[step] : m_after[(step - 4) % 3];
            k = key[1 + pos];
            if (++pos == m) {
                pos = 0;
                if (++rep == 3) {
                    rep = 0;
                    step++;
                }
            }
        }
        bool ref = cache_lookup_kv(drive, k, 0, NULL);
        if (!ref)
            cache_insert_kv(drive, k, 0, 0);
        if (!cache_lookup_kv(drive_u, k, 0, NULL))
            cache_insert_kv(drive_u, k, 0, 0);
        assert_int_equal(oracle_access(&o[NG], k, 0), ref);
        n++;
        for (size_t g = 0; g < NG; g++) {
            differs[g] += oracle_access(&o[g], k, 0) != ref;
            if (n == CHECK)
                at_check[g] = differs[g];
        }
    }
    /* the stream does what it is meant to: by the check the three small
     * geometries differ, each in its own way (nested, so their counts
     * tell them apart), and again after it; the twins differ alike */
    assert_true(at_check[2] > at_check[0] && at_check[0] > at_check[1] &&
                at_check[1] > 0);
    for (size_t g = 0; g < 3; g++)
        assert_true(differs[g] > at_check[g]);
    assert_true(differs[3] > 0 && differs[3] == differs[4]);
    /* results read after the feed's end, before allassoc_exact */
    allassoc_feed_free(f);
    for (size_t g = 0; g < NG; g++) {
        uint64_t d, k, du, ku;
        bool follow = g >= 3;
        allassoc_watch_result(a, g, &d, &k);
        allassoc_watch_result(u, g, &du, &ku);
        assert_int_equal(d, du);
        assert_int_equal(k, ku);
        assert_int_equal(allassoc_watch_followed(a, g), follow);
        assert_int_equal(allassoc_watch_followed(u, g), follow);
        assert_int_equal(d, follow ? differs[g] : at_check[g]);
    }
    /* ref's counts and the twins' are the oracles' */
    static const size_t counted[3] = {3, 4, NG};
    for (size_t x = 0; x < 3; x++) {
        size_t g = counted[x];
        allassoc_counts_t c, cu;
        uint32_t S = g < NG ? wsets[g] : 1, W = g < NG ? wways[g] : 4;
        assert_int_equal(allassoc_counts(a, S, W, &c), 0);
        assert_int_equal(allassoc_counts(u, S, W, &cu), 0);
        assert_int_equal(c.lookups, 2150);
        assert_int_equal(c.hits, o[g].hits);
        assert_int_equal(c.evictions, o[g].evictions);
        assert_int_equal(c.invalidated, 0);
        assert_memory_equal(&c, &cu, sizeof c);
    }
    assert_true(allassoc_exact(a));
    assert_true(allassoc_exact(u));
    for (size_t g = 0; g <= NG; g++)
        cache_free(o[g].c);
    cache_set_shadow(drive, NULL);
    cache_set_shadow(drive_u, NULL);
    cache_free(drive);
    cache_free(drive_u);
    allassoc_free(a);
    allassoc_free(u);
}

/* Many random cases against brute force (one LRU cache per geometry):
 * per seed a few set counts, a largest W of 1..20 (both layouts of
 * allassoc.c: 16 ways and fewer, and more), a key range from a few keys
 * (deep hits) to many (misses), invalidations of one key (often of keys
 * just used, so holes sit at every depth), predicate invalidations,
 * flushes, and lookups of keys no geometry holds (a fault: no fill).
 * Every (sets, W) of the shadow must count the oracle's lookups, hits,
 * evictions and invalidated entries, and each watched geometry the
 * lookups where it and the driving geometry differ; directly, through a
 * feed of one thread or of two (the set counts split), and with
 * allassoc_watch_give_up: ref's and every followed geometry's counts
 * exact, a geometry left only if it differed, one that never differed
 * or whose outcomes are another's followed. */
enum { MS_OPS = 2500, MS_MAXG = 4 * 20 };

static void many_seeds_one(uint64_t seed)
{
    static const uint32_t pow2[7] = {1, 2, 4, 8, 16, 32, 64};
    static const unsigned keyr[5] = {3, 12, 40, 150, 600};
    iosim_err_t err = {0};
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    uint32_t sets[4];
    size_t ns = 1 + rng_next(&s) % 4;
    for (size_t i = 0; i < ns; i++) { /* distinct set counts */
        bool again;
        do {
            sets[i] = pow2[rng_next(&s) % 7];
            again = false;
            for (size_t j = 0; j < i; j++)
                again |= sets[j] == sets[i];
        } while (again);
    }
    uint32_t r = (uint32_t)(rng_next(&s) % 10);
    uint32_t maxw = r < 5   ? 1 + (uint32_t)(rng_next(&s) % 8)
                    : r < 8 ? 9 + (uint32_t)(rng_next(&s) % 8)
                            : 17 + (uint32_t)(rng_next(&s) % 4);
    unsigned keys = keyr[rng_next(&s) % 5], ntag = 1 + rng_next(&s) % 3;
    unsigned p_inval = (unsigned)(rng_next(&s) % 25); /* percent */
    unsigned feed = (unsigned)(rng_next(&s) % 3);
    bool give_up = rng_next(&s) % 3 == 0;
    uint32_t ref_s = sets[rng_next(&s) % ns];
    uint32_t ref_w = 1 + (uint32_t)(rng_next(&s) % maxw);
    size_t ng = ns * maxw;
    allassoc_t *a = allassoc_new(sets, ns, maxw, &err);
    assert_non_null(a);
    uint32_t wsets[MS_MAXG], wways[MS_MAXG];
    oracle_t o[MS_MAXG];
    for (size_t g = 0; g < ng; g++) {
        wsets[g] = sets[g / maxw];
        wways[g] = 1 + (uint32_t)(g % maxw);
        o[g] = (oracle_t){.c = mk(wsets[g], wways[g])};
    }
    assert_int_equal(allassoc_watch(a, ref_s, ref_w, wsets, wways, ng, &err),
                     0);
    if (give_up)
        allassoc_watch_give_up(a);
    cache_t *drive = mk(ref_s, ref_w);
    cache_set_shadow(drive, a);
    allassoc_feed_t *f = NULL;
    if (feed) {
        assert_non_null(f = allassoc_feed_new_threads(feed, &err));
        assert_int_equal(allassoc_feed_add(f, a, &err), 0);
    }
    uint64_t differs[MS_MAXG] = {0}, lookups = 0, recent[4] = {0};
    /* outcome vectors' hash and the geometries equal to another's */
    uint64_t vec[MS_MAXG] = {0};
    for (unsigned n = 0; n < MS_OPS; n++) {
        uint64_t x = rng_next(&s);
        uint64_t addr = (x >> 8) % keys, tag = (x >> 40) % ntag;
        unsigned what = (unsigned)(x % 1000);
        if (what < 10 * p_inval) { /* one key, often a recent one */
            if (x >> 60 & 1)
                addr = recent[(x >> 61) & 3];
            cache_invalidate_kv(drive, addr, tag);
            for (size_t g = 0; g < ng; g++)
                o[g].invalidated += cache_invalidate_kv(o[g].c, addr, tag);
        } else if (what < 10 * p_inval + 8) {
            uint64_t limit = addr;
            cache_invalidate_if(drive, match_odd_tag_low_addr, &limit);
            for (size_t g = 0; g < ng; g++)
                o[g].invalidated +=
                    cache_invalidate_if(o[g].c, match_odd_tag_low_addr, &limit);
        } else if (what < 10 * p_inval + 10) {
            cache_flush(drive);
            for (size_t g = 0; g < ng; g++)
                cache_flush(o[g].c);
        } else {
            bool fault = what >= 985; /* a key nobody holds, no fill */
            if (fault)
                addr = 1000000 + n;
            bool ref = cache_lookup_kv(drive, addr, tag, NULL);
            if (!ref && !fault)
                cache_insert_kv(drive, addr, tag, 0);
            lookups++;
            for (size_t g = 0; g < ng; g++) {
                bool h;
                if (fault) {
                    h = cache_lookup_kv(o[g].c, addr, tag, NULL);
                    assert_false(h);
                } else {
                    h = oracle_access(&o[g], addr, tag);
                }
                if (h != ref) {
                    differs[g]++;
                    vec[g] = (vec[g] ^ lookups) * 0x100000001b3ull + 7;
                }
            }
            recent[n & 3] = addr;
        }
    }
    allassoc_feed_free(f);
    assert_true(allassoc_exact(a));
    for (size_t g = 0; g < ng; g++) {
        uint64_t d, key;
        allassoc_watch_result(a, g, &d, &key);
        bool followed = allassoc_watch_followed(a, g);
        bool twin = differs[g] == 0;
        for (size_t h = 0; h < ng && !twin; h++)
            twin = h != g && differs[h] == differs[g] && vec[h] == vec[g];
        if (!give_up || followed) {
            assert_int_equal(d, differs[g]);
        } else {
            assert_true(differs[g] > 0 && d > 0 && d <= differs[g]);
            assert_false(twin);
        }
        if (twin)
            assert_true(followed);
        bool counted = !give_up || followed || wsets[g] == ref_s;
        if (counted) {
            allassoc_counts_t c;
            assert_int_equal(allassoc_counts(a, wsets[g], wways[g], &c), 0);
            assert_int_equal(c.lookups, lookups);
            assert_oracle_counts(a, wsets[g], wways[g], &o[g], seed);
        }
        cache_free(o[g].c);
    }
    cache_set_shadow(drive, NULL);
    cache_free(drive);
    allassoc_free(a);
}

static void test_many_seeds(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 300; seed++)
        many_seeds_one(seed);
}

/* Whether LRU cache c holds key {addr, tag} (its set's lines, line i =
 * set * ways + way: cache.h; nothing touched). */
static bool oracle_holds(const cache_t *c, uint32_t sets, uint32_t ways,
                         uint64_t addr, uint64_t tag)
{
    size_t base = (size_t)cache_index(addr, tag, sets - 1) * ways;
    for (uint32_t w = 0; w < ways; w++)
        if (cache_line_has(c, base + w, addr, tag))
            return true;
    return false;
}

/* The inclusion allassoc.c invalidate_now relies on, by brute force on
 * separate LRU caches (no shadow): after every operation (accesses,
 * one-key invalidations, half of them of recent keys so holes sit at
 * every depth, predicate invalidations, flushes), for every W each key
 * an S-set cache of W ways holds is held by the 2S-set one (so by every
 * larger power of two).  Also counts the keys only the larger holds, so
 * the check is not vacuous. */
enum { INC_S = 7, INC_W = 9 };
static void test_inclusion(void **state)
{
    (void)state;
    uint64_t checked = 0, larger_only = 0, invals = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t s = seed * 0xd1b54a32d192ed03ull + 3;
        static const unsigned keyr[4] = {6, 30, 100, 200};
        unsigned keys = keyr[seed % 4], ntag = 1 + (unsigned)(seed % 3);
        unsigned p_inval = 5 + (unsigned)(rng_next(&s) % 25);
        cache_t *c[INC_S][INC_W];
        for (uint32_t i = 0; i < INC_S; i++)
            for (uint32_t w = 0; w < INC_W; w++)
                c[i][w] = mk(1u << i, w + 1);
        uint64_t recent[4] = {0};
        for (unsigned n = 0; n < 1200; n++) {
            uint64_t x = rng_next(&s);
            uint64_t addr = (x >> 8) % keys, tag = (x >> 40) % ntag;
            unsigned what = (unsigned)(x % 100);
            for (uint32_t i = 0; i < INC_S; i++)
                for (uint32_t w = 0; w < INC_W; w++) {
                    cache_t *o = c[i][w];
                    if (what < p_inval) {
                        if (x >> 60 & 1)
                            addr = recent[(x >> 61) & 3];
                        invals += cache_invalidate_kv(o, addr, tag);
                    } else if (what == p_inval) {
                        uint64_t limit = addr;
                        cache_invalidate_if(o, match_odd_tag_low_addr, &limit);
                    } else if (what == p_inval + 1 && n % 7 == 0) {
                        cache_flush(o);
                    } else if (!cache_lookup_kv(o, addr, tag, NULL)) {
                        cache_insert_kv(o, addr, tag, 0);
                    }
                }
            recent[n & 3] = addr;
            for (uint32_t i = 0; i + 1 < INC_S; i++)
                for (uint32_t w = 0; w < INC_W; w++)
                    for (uint64_t k = 0; k < (uint64_t)keys * ntag; k++) {
                        uint64_t ka = k % keys, kt = k / keys;
                        bool small =
                                 oracle_holds(c[i][w], 1u << i, w + 1, ka, kt),
                             large = oracle_holds(c[i + 1][w], 2u << i, w + 1,
                                                  ka, kt);
                        if (small && !large)
                            print_error("seed %llu op %u: %u x %u holds "
                                        "%llu/%llu, %u x %u not\n",
                                        (unsigned long long)seed, n, 1u << i,
                                        w + 1, (unsigned long long)ka,
                                        (unsigned long long)kt, 2u << i, w + 1);
                        assert_false(small && !large);
                        checked += small;
                        larger_only += large && !small;
                    }
        }
        for (uint32_t i = 0; i < INC_S; i++)
            for (uint32_t w = 0; w < INC_W; w++)
                cache_free(c[i][w]);
    }
    assert_true(checked > 1000000 && larger_only > 100000 && invals > 10000);
}

/* A measurement window (allassoc_window): the counts of each (S, W) as
 * the window closed are those of the oracles counting only from its
 * beginning to its end, whatever comes after; lookups likewise. */
static void test_window(void **state)
{
    (void)state;
    enum { WS = 4, WW = 6, NG = WS * WW };
    static const uint32_t sets[WS] = {1, 2, 4, 8};
    iosim_err_t err = {0};
    allassoc_t *a = allassoc_new(sets, WS, WW, &err);
    assert_non_null(a);
    cache_t *drive = mk(2, 3);
    cache_set_shadow(drive, a);
    oracle_t o[NG], snap[NG];
    for (size_t g = 0; g < NG; g++)
        o[g] = (oracle_t){.c = mk(sets[g / WW], 1 + (uint32_t)(g % WW))};
    uint64_t s = 77, lookups = 0, snap_lookups = 0;
    for (unsigned n = 0; n < 3000; n++) {
        if (n == 700) { /* begin: counts from zero, stacks kept */
            allassoc_window(a, true);
            for (size_t g = 0; g < NG; g++)
                o[g].hits = o[g].evictions = o[g].invalidated = 0;
            lookups = 0;
        }
        if (n == 2100) {
            allassoc_window(a, false);
            memcpy(snap, o, sizeof o);
            snap_lookups = lookups;
        }
        uint64_t x = rng_next(&s), addr = (x >> 8) % 40, tag = (x >> 40) % 2;
        if (x % 100 < 12) {
            cache_invalidate_kv(drive, addr, tag);
            for (size_t g = 0; g < NG; g++)
                o[g].invalidated += cache_invalidate_kv(o[g].c, addr, tag);
            continue;
        }
        if (!cache_lookup_kv(drive, addr, tag, NULL))
            cache_insert_kv(drive, addr, tag, 0);
        lookups++;
        for (size_t g = 0; g < NG; g++)
            oracle_access(&o[g], addr, tag);
    }
    assert_true(allassoc_exact(a));
    uint64_t inval = 0;
    for (size_t g = 0; g < NG; g++) {
        allassoc_counts_t c;
        inval += snap[g].invalidated;
        assert_int_equal(
            allassoc_counts(a, sets[g / WW], 1 + (uint32_t)(g % WW), &c), 0);
        assert_int_equal(c.lookups, snap_lookups);
        assert_oracle_counts(a, sets[g / WW], 1 + (uint32_t)(g % WW), &snap[g],
                             77);
        assert_true(snap[g].hits != o[g].hits); /* (the end mattered) */
        cache_free(o[g].c);
    }
    assert_true(inval > 500); /* (562 entries invalidated in the window) */
    cache_set_shadow(drive, NULL);
    cache_free(drive);
    allassoc_free(a);
}

static void test_bad_params(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    const uint32_t three = 3, twice[2] = {4, 4};
    assert_null(allassoc_new(&three, 1, 4, &err));
    assert_non_null(strstr(err.msg, "power of two"));
    assert_null(allassoc_new(twice, 2, 4, &err));
    assert_non_null(strstr(err.msg, "twice"));
    assert_null(allassoc_new(twice, 1, 0, &err));
}

int main(void)
{
    static const unsigned zero = 0, one = 1, two = 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_random, (void *)&few_keys),
        cmocka_unit_test_prestate(test_random, (void *)&many_keys),
        cmocka_unit_test_prestate(test_random, (void *)&feed_few_keys),
        cmocka_unit_test_prestate(test_random, (void *)&feed_many_keys),
        cmocka_unit_test_prestate(test_random, (void *)&feed2_few_keys),
        cmocka_unit_test_prestate(test_random, (void *)&feed2_many_keys),
        cmocka_unit_test(test_hole_by_hand),
        cmocka_unit_test_prestate(test_inexact_detected, (void *)&zero),
        cmocka_unit_test_prestate(test_inexact_detected, (void *)&one),
        cmocka_unit_test_prestate(test_inexact_detected, (void *)&two),
        cmocka_unit_test_prestate(test_invalidate_tags, (void *)&zero),
        cmocka_unit_test_prestate(test_invalidate_tags, (void *)&one),
        cmocka_unit_test_prestate(test_give_up, (void *)&give_up_direct),
        cmocka_unit_test_prestate(test_give_up, (void *)&give_up_feed),
        cmocka_unit_test_prestate(test_give_up, (void *)&give_up_ref),
        cmocka_unit_test_prestate(test_give_up, (void *)&give_up_split),
        cmocka_unit_test_prestate(test_give_up, (void *)&give_up_split_ref),
        cmocka_unit_test_prestate(test_give_up_late, (void *)&zero),
        cmocka_unit_test_prestate(test_give_up_late, (void *)&one),
        cmocka_unit_test_prestate(test_give_up_late, (void *)&two),
        cmocka_unit_test(test_many_seeds),
        cmocka_unit_test(test_inclusion),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
