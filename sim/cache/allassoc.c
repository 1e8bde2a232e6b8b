/* allassoc.c — every LRU geometry of one cache in one pass (allassoc.h).
 *
 * Concepts (implementation): per set count S, S stacks of max_ways
 * places each.  Two layouts:
 *   - Small (max_ways <= 16, SMALL_WAYS: every sweep of the shipped
 *     configurations): a stack's keys stay in max_ways slots that never
 *     move; a 32-byte allassoc_set_t per set holds the stack's order, a
 *     byte per place (a fingerprint of the key there, 0 for an empty
 *     place: a hole or a place never filled) and a nibble per place (the
 *     slot of the key there).  One 16-byte compare (SSE2) finds the
 *     places whose fingerprint is the key's and the empty ones; the key
 *     is checked in its slot; the move to the top shifts the two words
 *     (a few shifts and masks) instead of moving up to 16 keys.  An
 *     empty place and a trailing hole are the same thing here: both take
 *     the next key that sinks to them.
 *   - Large (more ways): place j of set i at i * max_ways + j of one key
 *     array, place 0 the most recent; a hole is the key HOLE (no cache key
 *     is all ones: VT-d's addresses are page numbers, its tags 42 bits),
 *     so an update moves one array.
 * Per S three arrays over depth 1..max_ways: hits found at depth d, the
 * accesses whose first empty place (or hit depth, or the stack's length)
 * was q (evq[q]: W <= q evicted, so evictions of W sum evq[W..]), and
 * entries invalidated at depth d; sums give the counts of one W.
 * The key last accessed, while no invalidation or flush touched it, is on
 * top of every stack: accessing it again (a run of DMA in one page) is a
 * hit at depth 1 everywhere that moves nothing, counted once (mru_hits)
 * instead of per set count. */
#include "cache/allassoc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Tags allassoc_invalidate tells apart (a sweep's IOTLB sees a few: a
 * DID, a PASID, the page size levels of its entries; more and no
 * invalidation is skipped). */
#define ALLASSOC_SEEN_TAGS 8u
/* Most stack places over all set counts (bounds memory: 16 bytes each). */
#define ALLASSOC_MAX_PLACES (1u << 26)
#define HOLE_ADDR UINT64_MAX
#define HOLE_TAG UINT64_MAX

static inline bool is_hole(cache_key_t k)
{
    return k.addr == HOLE_ADDR && k.tag == HOLE_TAG;
}
static const cache_key_t hole_key = {HOLE_ADDR, HOLE_TAG};

/* The small layout's ways at most (a nibble per place, a byte per place
 * in 16 bytes). */
#define SMALL_WAYS 16u
/* A place the key is not at (small_find). */
#define NO_PLACE UINT32_MAX

typedef struct allassoc_set { /* one stack of the small layout */
    uint64_t fp[2];           /* byte j (fp[j / 8] bits 8 (j % 8) up): place j's
                                 key's fingerprint (fingerprint()), 0: empty */
    uint64_t ord;             /* nibble j: the slot of place j's key (or of the
                                 empty place's last key: a free slot) */
    uint64_t pad;             /* (two sets a 64-byte line) */
} allassoc_set_t;

typedef struct allassoc_level { /* one set count: 64 bytes, so an index
                                   into a->lv is a shift */
    uint32_t sets;
    uint32_t holes;     /* large: holes among the places in use, all sets
                           (at most ALLASSOC_MAX_PLACES): none (no
                           invalidation left one) spares find and cut_holes
                           their hole tests */
    cache_key_t *keys;  /* large: HOLE an empty place; small: the slots */
    allassoc_set_t *st; /* small: per set its order (else NULL) */
    uint32_t *len;      /* large: places in use per set (trailing holes
                           cut) */
    uint64_t *hit;      /* [d]: hits found at depth d (1..max_ways)   */
    uint64_t *evq;      /* [q]: accesses that evicted for W <= q       */
    uint64_t *inval;    /* [d]: entries invalidated at depth d          */
    uint64_t *frozen;   /* the three as a closed window left them, each
                           max_ways + 2 long: hit, evq, inval */
} allassoc_level_t;
_Static_assert(sizeof(allassoc_level_t) == 64, "allassoc_level_t: 64 bytes");

struct allassoc {
    allassoc_level_t *lv;
    size_t nlv;
    /* the set counts still updated (all but those allassoc_watch_give_up
     * left: indices into lv), nlive of them */
    size_t *live, nlive;
    uint32_t ways;  /* max_ways: places per stack */
    bool small;     /* the small layout (ways <= SMALL_WAYS) */
    uint32_t wmask; /* small: a bit per place (ways bits) */
    bool pending;   /* a lookup that missed in the driving cache */
    uint64_t pending_addr, pending_tag;
    bool inexact;
    bool closed; /* a measurement window closed: counts are the _f ones */
    uint64_t lookups, lookups_f; /* lookups reported (and when closed) */
    /* the key last accessed (mru_ok: and not invalidated since, nor
     * flushed): on top of every stack updated, so accessing it again
     * moves nothing (access()); its hits at depth 1, counted here for
     * every set count (and as a closed window left them) */
    bool mru_ok;
    uint64_t mru_addr, mru_tag;
    uint64_t mru_hits, mru_hits_f;
    /* allassoc_watch: per level the depth (1..) an access found its key
     * at, UINT32_MAX if absent; the reference and watched geometries as
     * (level, ways); per watched one its differences and their key */
    uint64_t seq; /* lookups reported, windows aside */
    uint32_t *depth;
    size_t nwatch, ref_lv;
    uint32_t ref_ways;
    size_t *w_lv;
    uint32_t *w_ways;
    uint64_t *w_differs, *w_key;
    /* per level k, of the geometries followed on it: wb[2k] the least
     * ways (UINT32_MAX if none), wb[2k + 1] the most (0 if none), so a
     * lookup whose depths cannot make any differ skips them
     * (watch_compare; follow_bounds) */
    uint32_t *wb;
    /* the watched geometries still followed (indices), nfollow of them;
     * give_up: allassoc_watch_give_up, whose next check is at lookup
     * give_up_at */
    size_t *follow, nfollow;
    bool give_up;
    uint64_t give_up_at;
    /* the driving cache's side (the public operations, on the thread
     * that reports them, whether a feed applies them or not): the tags of
     * the keys given to the stacks (lookups that hit, inserts), seen_tag[0]
     * the last one, and whether a lookup that missed awaits its fill; an
     * invalidation of a key whose tag none of them has, with no lookup
     * pending, changes nothing and is skipped (allassoc_invalidate) */
    uint64_t seen_tag[ALLASSOC_SEEN_TAGS];
    unsigned nseen;
    bool seen_any_tag; /* more tags than seen_tag holds: none skipped */
    bool put_pending;
    allassoc_feed_t *feed; /* NULL: operations applied as reported */
    uint32_t feed_id;      /* its index among the feed's shadows */
    /* split (a feed of two threads, allassoc_feed_add): sib holds the
     * set counts the feed's second thread updates (part 1; this one
     * part 0, with ref's), each part the watched geometries of its own
     * set counts (w_lv SIZE_MAX: the other part's; ref_lv SIZE_MAX in
     * part 1, which takes ref's outcome from the driving cache's) */
    allassoc_t *sib;
    unsigned part;
    /* split with allassoc_watch_give_up: the checks' decisions, made
     * from both parts' values (link_check) */
    struct allassoc_link *link;
    bool *gfollow;             /* followed, as of the last decision applied */
    uint64_t ncheck, napplied; /* checks passed, decisions applied */
    uint64_t *ck_seq;          /* [check % LINK_SLOTS]: its lookup (seq) */
    uint64_t *inexact_seq;     /* per level: first pending lookup whose key
                                  it held (UINT64_MAX: none), see held_mark */
};

/* A split shadow's give-up decisions: the check c of each part writes
 * the differences of its followed geometries into slot c % LINK_SLOTS
 * and raises reached[part]; decision c, made by each part once both
 * reached it, is give_up_check's over the geometries followed after
 * decision c - 1, with those values.  A part applies it at a later check
 * of its own (or at the feed's end): the geometries it leaves take the
 * values of check c, so every result is the unsplit run's; the set
 * counts it leaves were updated a while longer (their counts mean
 * nothing then), and a key they held at a pending lookup after check c
 * is forgotten (inexact_seq).  The parts run at most FEED_RING entries
 * apart (the ring), about 17 checks: a slot is rewritten only once the
 * other part applied its decision (waited for, never in practice). */
#define LINK_SLOTS 64u
typedef struct allassoc_link {
    size_t nwatch;
    uint64_t *differs, *key; /* [slot * nwatch + i] */
    _Atomic uint64_t reached[2], applied[2];
} allassoc_link_t;

static void link_free(allassoc_link_t *l)
{
    if (l) {
        free(l->differs);
        free(l->key);
        free(l);
    }
}

allassoc_t *allassoc_new(const uint32_t *sets, size_t nsets, uint32_t max_ways,
                         iosim_err_t *err)
{
    if (nsets == 0 || max_ways == 0)
        return iosim_err_set(err, "all-associativity: no geometry"), NULL;
    uint64_t places = 0;
    for (size_t i = 0; i < nsets; i++) {
        if (sets[i] == 0 || (sets[i] & (sets[i] - 1)))
            return iosim_err_set(err,
                                 "all-associativity: %u sets is not "
                                 "a power of two",
                                 sets[i]),
                   NULL;
        for (size_t j = 0; j < i; j++)
            if (sets[j] == sets[i])
                return iosim_err_set(err,
                                     "all-associativity: %u sets "
                                     "listed twice",
                                     sets[i]),
                       NULL;
        places += (uint64_t)sets[i] * max_ways;
    }
    if (places > ALLASSOC_MAX_PLACES)
        return iosim_err_set(err,
                             "all-associativity: sets x ways too large "
                             "(%llu places, at most %u)",
                             (unsigned long long)places, ALLASSOC_MAX_PLACES),
               NULL;
    allassoc_t *a = calloc(1, sizeof *a);
    if (!a || !(a->lv = calloc(nsets, sizeof *a->lv)) ||
        !(a->live = calloc(nsets, sizeof *a->live)) ||
        !(a->depth = calloc(nsets, sizeof *a->depth))) {
        if (a) {
            free(a->lv);
            free(a->live);
        }
        free(a);
        return iosim_err_set(err, "all-associativity: out of memory"), NULL;
    }
    a->nlv = nsets;
    a->nlive = nsets;
    /* live in order of set counts, the largest first (invalidate_now
     * stops at the first that does not hold the key); a filter of it
     * (keep_live, the split) keeps that order */
    for (size_t i = 0; i < nsets; i++) {
        size_t x = i;
        for (; x > 0 && sets[a->live[x - 1]] < sets[i]; x--)
            a->live[x] = a->live[x - 1];
        a->live[x] = i;
    }
    a->seen_tag[0] = HOLE_TAG; /* (no key's tag: none seen) */
    a->ways = max_ways;
    a->small = max_ways <= SMALL_WAYS;
    a->wmask = a->small ? (uint32_t)((1ull << max_ways) - 1u) : 0;
    /* the small layout's starting order: slot j at place j, all empty */
    uint64_t ord0 = 0;
    for (uint32_t j = 0; a->small && j < max_ways; j++)
        ord0 |= (uint64_t)j << (4u * j);
    for (size_t i = 0; i < nsets; i++) {
        allassoc_level_t *l = &a->lv[i];
        size_t n = (size_t)sets[i] * max_ways;
        l->sets = sets[i];
        l->keys = malloc(n * sizeof *l->keys);
        if (a->small)
            l->st = calloc(sets[i], sizeof *l->st);
        else
            l->len = calloc(sets[i], sizeof *l->len);
        l->hit = calloc(max_ways + 2u, sizeof *l->hit);
        l->evq = calloc(max_ways + 2u, sizeof *l->evq);
        l->inval = calloc(max_ways + 2u, sizeof *l->inval);
        l->frozen = calloc(3u * (max_ways + 2u), sizeof *l->frozen);
        if (!l->keys || !(l->len || l->st) || !l->hit || !l->evq || !l->inval ||
            !l->frozen) {
            allassoc_free(a);
            return iosim_err_set(err, "all-associativity: out of memory"), NULL;
        }
        for (uint32_t s = 0; l->st && s < sets[i]; s++)
            l->st[s].ord = ord0;
    }
    return a;
}

void allassoc_free(allassoc_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->lv && i < a->nlv; i++) {
        allassoc_level_t *l = &a->lv[i];
        free(l->keys);
        free(l->st);
        free(l->len);
        free(l->hit);
        free(l->evq);
        free(l->inval);
        free(l->frozen);
    }
    free(a->lv);
    free(a->live);
    free(a->follow);
    free(a->wb);
    free(a->depth);
    free(a->w_lv);
    free(a->w_ways);
    free(a->w_differs);
    free(a->w_key);
    free(a->gfollow);
    free(a->ck_seq);
    free(a->inexact_seq);
    if (a->link && a->part == 0)
        link_free(a->link);
    allassoc_free(a->sib);
    free(a);
}

static void follow_bounds(allassoc_t *a);

static size_t level_of(const allassoc_t *a, uint32_t sets)
{
    for (size_t k = 0; k < a->nlv; k++)
        if (a->lv[k].sets == sets)
            return k;
    return a->nlv;
}

int allassoc_watch(allassoc_t *a, uint32_t ref_sets, uint32_t ref_ways,
                   const uint32_t *sets, const uint32_t *ways, size_t n,
                   iosim_err_t *err)
{
    a->ref_lv = level_of(a, ref_sets);
    a->ref_ways = ref_ways;
    if (a->ref_lv == a->nlv || ref_ways == 0 || ref_ways > a->ways)
        return iosim_err_set(err,
                             "all-associativity: %u x %u is not a "
                             "geometry of the shadow",
                             ref_sets, ref_ways);
    a->w_lv = calloc(n ? n : 1, sizeof *a->w_lv);
    a->w_ways = calloc(n ? n : 1, sizeof *a->w_ways);
    a->w_differs = calloc(n ? n : 1, sizeof *a->w_differs);
    a->w_key = calloc(n ? n : 1, sizeof *a->w_key);
    a->follow = calloc(n ? n : 1, sizeof *a->follow);
    a->wb = calloc(2 * a->nlv, sizeof *a->wb);
    if (!a->depth || !a->w_lv || !a->w_ways || !a->w_differs || !a->w_key ||
        !a->follow || !a->wb)
        return iosim_err_set(err, "all-associativity: out of memory");
    for (size_t i = 0; i < n; i++) {
        a->follow[i] = i;
        a->w_lv[i] = level_of(a, sets[i]);
        a->w_ways[i] = ways[i];
        if (a->w_lv[i] == a->nlv || ways[i] == 0 || ways[i] > a->ways)
            return iosim_err_set(err,
                                 "all-associativity: %u x %u is not a "
                                 "geometry of the shadow",
                                 sets[i], ways[i]);
    }
    a->nwatch = n;
    a->nfollow = n;
    follow_bounds(a);
    return 0;
}

void allassoc_watch_give_up(allassoc_t *a)
{
    a->give_up = true; /* (before allassoc_feed_add splits a) */
}

bool allassoc_watch_followed(const allassoc_t *a, size_t i)
{
    if (a->sib && i < a->nwatch && a->w_lv[i] == SIZE_MAX)
        a = a->sib;
    for (size_t j = 0; j < a->nfollow; j++)
        if (a->follow[j] == i)
            return true;
    return false;
}

void allassoc_watch_result(const allassoc_t *a, size_t i, uint64_t *differs,
                           uint64_t *key)
{
    if (a->sib && i < a->nwatch && a->w_lv[i] == SIZE_MAX)
        a = a->sib;
    *differs = i < a->nwatch ? a->w_differs[i] : 0;
    *key = i < a->nwatch ? a->w_key[i] : 0;
}

/* Lookups between allassoc_watch_give_up's checks (each is O(n^2) in
 * the geometries followed). */
#define GIVE_UP_EVERY 1024u

/* After geometries were left: the set counts still updated are those
 * serving ref or a geometry followed.  A split part (a->link) left them
 * as of the check at lookup `at`: a key one held at a pending lookup
 * before that makes the shadow inexact (held_mark), after it not. */
/* wb from the geometries followed (after each change of them). */
static void follow_bounds(allassoc_t *a)
{
    for (size_t k = 0; k < a->nlv; k++) {
        a->wb[2 * k] = UINT32_MAX;
        a->wb[2 * k + 1] = 0;
    }
    for (size_t f = 0; f < a->nfollow; f++) {
        size_t i = a->follow[f], k = a->w_lv[i];
        if (a->w_ways[i] < a->wb[2 * k])
            a->wb[2 * k] = a->w_ways[i];
        if (a->w_ways[i] > a->wb[2 * k + 1])
            a->wb[2 * k + 1] = a->w_ways[i];
    }
}

static void keep_live(allassoc_t *a, uint64_t at)
{
    follow_bounds(a);
    size_t n = 0;
    for (size_t x = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        bool used = k == a->ref_lv;
        for (size_t f = 0; f < a->nfollow && !used; f++)
            used = a->w_lv[a->follow[f]] == k;
        if (used)
            a->live[n++] = k;
        else if (a->link && a->inexact_seq[k] < at)
            a->inexact = true;
    }
    a->nlive = n;
}

/* allassoc_watch_give_up's check: a geometry that differed from ref and
 * whose differences so far equal no other followed one's never will
 * equal ref's or another's (they only grow), so nothing but its own count
 * and key would come of following it; it is left, and so is each set
 * count that then serves neither ref nor a geometry followed. */
static void give_up_check(allassoc_t *a)
{
    size_t w = 0;
    for (size_t f = 0; f < a->nfollow; f++) {
        size_t i = a->follow[f];
        bool twin = a->w_differs[i] == 0; /* ref's, so far */
        for (size_t g = 0; g < a->nfollow && !twin; g++) {
            size_t j = a->follow[g];
            twin = j != i && a->w_differs[j] == a->w_differs[i] &&
                   a->w_key[j] == a->w_key[i];
        }
        if (twin)
            a->follow[w++] = i;
    }
    a->nfollow = w;
    keep_live(a, 0);
}

static void link_check(allassoc_t *a);

/* allassoc_watch_give_up's check, when due (after each lookup's
 * comparison). */
static inline __attribute__((always_inline)) void watch_tick(allassoc_t *a)
{
    if (a->give_up && a->seq >= a->give_up_at) {
        if (a->link)
            link_check(a);
        else
            give_up_check(a);
        a->give_up_at = a->seq + GIVE_UP_EVERY;
    }
}

/* A geometry of W ways differs from ref iff ref hit and depth > W, or
 * ref missed and depth <= W: none on level k (depth d) if d <= its least
 * W (ref hit) or > its most (ref missed).  (wb: a->wb) */
static inline bool watch_may_differ(const uint32_t *wb, size_t k, uint32_t d,
                                    bool ref)
{
    return ref ? d > wb[2 * k] : d <= wb[2 * k + 1];
}

/* After a lookup's access (a->depth filled; any: some live level's depth
 * may make a followed geometry differ, watch_may_differ): each watched
 * geometry's outcome against the reference's, ref_hit (the driving
 * cache's: ref's own set count, where this part has it, must agree) */
static void watch_compare_any(allassoc_t *a, bool ref_hit, bool any)
{
    bool ref = ref_hit;
    if (a->ref_lv != SIZE_MAX && (a->depth[a->ref_lv] <= a->ref_ways) != ref)
        a->inexact = true;
    for (size_t f = 0; any && f < a->nfollow; f++) {
        size_t i = a->follow[f];
        if ((a->depth[a->w_lv[i]] <= a->w_ways[i]) != ref) {
            a->w_differs[i]++;
            /* FNV-1a style mixing of the lookup's position */
            a->w_key[i] = (a->w_key[i] ^ a->seq) * 0x100000001b3ull +
                          0x9e3779b97f4a7c15ull;
        }
    }
    watch_tick(a);
}

static void watch_compare(allassoc_t *a, bool ref_hit)
{
    bool any = false;
    for (size_t x = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        any |= watch_may_differ(a->wb, k, a->depth[k], ref_hit);
    }
    watch_compare_any(a, ref_hit, any);
}

/* Split part a applies decision d (link_check): give_up_check's twin
 * test over the geometries followed after decision d - 1, with check
 * d's values; its own geometries left take those values, and the set
 * counts then serving neither ref nor a followed one of its own stop
 * (a key one held at a pending lookup before check d: inexact). */
static void link_decide(allassoc_t *a, uint64_t d)
{
    allassoc_link_t *L = a->link;
    const size_t n = L->nwatch;
    const uint64_t *dv = &L->differs[(d % LINK_SLOTS) * n];
    const uint64_t *kv = &L->key[(d % LINK_SLOTS) * n];
    bool *keep = a->gfollow + n; /* scratch: the second half */
    for (size_t i = 0; i < n; i++) {
        keep[i] = a->gfollow[i] && dv[i] == 0;
        for (size_t j = 0; j < n && a->gfollow[i] && !keep[i]; j++)
            keep[i] =
                j != i && a->gfollow[j] && dv[j] == dv[i] && kv[j] == kv[i];
    }
    memcpy(a->gfollow, keep, n * sizeof *keep);
    size_t w = 0;
    for (size_t f = 0; f < a->nfollow; f++) {
        size_t i = a->follow[f];
        if (a->gfollow[i]) {
            a->follow[w++] = i;
        } else {
            a->w_differs[i] = dv[i];
            a->w_key[i] = kv[i];
        }
    }
    a->nfollow = w;
    keep_live(a, a->ck_seq[d % LINK_SLOTS]);
}

/* The decisions both parts reached, applied by part a. */
static void link_apply(allassoc_t *a)
{
    allassoc_link_t *L = a->link;
    uint64_t r0 = atomic_load(&L->reached[0]), r1 = atomic_load(&L->reached[1]);
    uint64_t avail = r0 < r1 ? r0 : r1;
    for (; a->napplied < avail; a->napplied++)
        link_decide(a, a->napplied);
    atomic_store(&L->applied[a->part], a->napplied);
}

/* allassoc_watch_give_up's check in a split part: its followed
 * geometries' values into the slot of this check, then the decisions
 * both parts reached. */
static void link_check(allassoc_t *a)
{
    allassoc_link_t *L = a->link;
    const unsigned q = !a->part;
    const uint64_t c = a->ncheck;
    /* the slot's last check decided by the other part, and this part's
     * own record of it (ck_seq) applied here */
    while (c >= LINK_SLOTS && atomic_load(&L->applied[q]) <= c - LINK_SLOTS)
        sched_yield();
    while (a->napplied + LINK_SLOTS <= c) {
        link_apply(a);
        if (a->napplied + LINK_SLOTS <= c)
            sched_yield();
    }
    uint64_t *dv = &L->differs[(c % LINK_SLOTS) * L->nwatch];
    uint64_t *kv = &L->key[(c % LINK_SLOTS) * L->nwatch];
    for (size_t f = 0; f < a->nfollow; f++) {
        dv[a->follow[f]] = a->w_differs[a->follow[f]];
        kv[a->follow[f]] = a->w_key[a->follow[f]];
    }
    a->ck_seq[c % LINK_SLOTS] = a->seq;
    a->ncheck = c + 1;
    atomic_store(&L->reached[a->part], c + 1);
    link_apply(a);
}

/* ---- the small layout (a->small) ----------------------------------------- */

/* A key's fingerprint: a byte, never 0 (an empty place's).  Any function
 * of the key would do (a place whose byte matches has its key checked);
 * a mixing one keeps the checks of other keys rare. */
static inline uint8_t fingerprint(uint64_t addr, uint64_t tag)
{
    uint64_t x = (addr ^ (tag * 0x9e3779b97f4a7c15ull)) * 0xd6e8feb86659fd93ull;
    uint8_t f = (uint8_t)(x >> 56);
    return f ? f : 1u;
}

/* Bit j set: place j's byte is f (*empty: is 0), for places < 16. */
static inline uint32_t small_masks(const allassoc_set_t *st, uint8_t f,
                                   uint32_t *empty)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)st->fp);
    *empty =
        (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
    return (uint32_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(v, _mm_set1_epi8((char)f)));
#else
    uint32_t m = 0, e = 0;
    for (unsigned j = 0; j < SMALL_WAYS; j++) {
        uint8_t b = (uint8_t)(st->fp[j / 8u] >> (8u * (j % 8u)));
        m |= (uint32_t)(b == f) << j;
        e |= (uint32_t)(b == 0) << j;
    }
    *empty = e;
    return m;
#endif
}

static inline uint32_t nib(uint64_t ord, uint32_t j)
{
    return (uint32_t)(ord >> (4u * j)) & 15u;
}

/* Place of key (NO_PLACE if absent) in stack `set` of l; *empty: the
 * empty places (a bit each). */
static inline __attribute__((always_inline)) uint32_t
small_find(const allassoc_t *a, const allassoc_level_t *l, uint32_t set,
           uint64_t addr, uint64_t tag, uint8_t f, uint32_t *empty)
{
    const allassoc_set_t *st = &l->st[set];
    uint32_t e, m = small_masks(st, f, &e) & a->wmask;
    *empty = e & a->wmask;
    const cache_key_t *k = &l->keys[(size_t)set * a->ways];
    for (; m; m &= m - 1u) { /* (another key's byte: rare) */
        uint32_t p = (uint32_t)__builtin_ctz(m);
        const cache_key_t *x = &k[nib(st->ord, p)];
        if (x->addr == addr && x->tag == tag)
            return p;
    }
    return NO_PLACE;
}

/* The stack with place q taken out and (slot, byte f) put on top: places
 * 0..q-1 move down one.  In each word, the places 0..q (mask m) take the
 * word shifted by one place with the new entry below, the rest stay. */
static inline void small_to_top(allassoc_set_t *st, uint64_t ord, uint32_t q,
                                uint32_t slot, uint8_t f)
{
    uint64_t m = ~0ull >> (60u - 4u * q); /* nibbles 0..q */
    st->ord = (((ord << 4) | slot) & m) | (ord & ~m);
    uint64_t w0 = st->fp[0];
    if (q < 8u) {
        m = ~0ull >> (56u - 8u * q); /* bytes 0..q */
        st->fp[0] = (((w0 << 8) | f) & m) | (w0 & ~m);
        return;
    }
    uint64_t w1 = st->fp[1];
    m = ~0ull >> (56u - 8u * (q - 8u));
    st->fp[1] = (((w1 << 8) | (w0 >> 56)) & m) | (w1 & ~m);
    st->fp[0] = (w0 << 8) | f;
}

/* Place p (a key's) empty. */
static inline void small_clear(allassoc_set_t *st, uint32_t p)
{
    st->fp[p / 8u] &= ~(0xffull << (8u * (p % 8u)));
}

/* access()'s step for one set count of the small layout: its stacks'
 * ways and wmask (a's, in registers), *depth the depth found (the
 * watch's, written whether watched or not). */
static inline __attribute__((always_inline)) void
small_access(allassoc_level_t *l, uint32_t ways, uint32_t wmask,
             uint32_t *depth, uint32_t set, uint64_t addr, uint64_t tag,
             uint8_t f, bool count_hit)
{
    allassoc_set_t *st = &l->st[set];
    cache_key_t *keys = &l->keys[(size_t)set * ways];
    const uint64_t ord0 = st->ord;
    uint32_t e, m = small_masks(st, f, &e) & wmask;
    e &= wmask;
    uint32_t p = NO_PLACE;
    for (; m; m &= m - 1u) { /* (another key's byte: rare) */
        uint32_t j = (uint32_t)__builtin_ctz(m);
        const cache_key_t *x = &keys[nib(ord0, j)];
        if (x->addr == addr && x->tag == tag) {
            p = j;
            break;
        }
    }
    uint64_t ord = ord0;
    uint32_t q, slot;
    if (p != NO_PLACE) {
        if (count_hit)
            l->hit[p + 1]++;
        *depth = p + 1;
        if (p == 0) /* on top already: nothing moves */
            return;
        slot = nib(ord, p);
        uint32_t above = e & ((1u << p) - 1u);
        q = p;
        if (above) { /* the first empty place above takes the move down;
                        the key's own place is left empty */
            q = (uint32_t)__builtin_ctz(above);
            ord = (ord & ~(15ull << (4u * p))) |
                  ((uint64_t)nib(ord, q) << (4u * p));
            small_clear(st, p);
        }
        l->evq[q]++;
    } else {
        *depth = UINT32_MAX;
        /* the first empty place, else the bottom falls off (every W
         * evicts) */
        q = e ? (uint32_t)__builtin_ctz(e) : ways;
        l->evq[q]++;
        if (q == ways)
            q--;
        slot = nib(ord, q);
        keys[slot] = (cache_key_t){addr, tag};
    }
    small_to_top(st, ord, q, slot, f);
}

/* ---- the large layout ---------------------------------------------------- */

/* Place of key in stack `set` of l, or its length if absent; *hole: the
 * first hole above that place (or the place itself if none). */
static inline __attribute__((always_inline)) uint32_t
find(const allassoc_t *a, const allassoc_level_t *l, uint32_t set,
     uint64_t addr, uint64_t tag, uint32_t *hole)
{
    const cache_key_t *k = &l->keys[(size_t)set * a->ways];
    uint32_t n = l->len[set], h = UINT32_MAX, p = 0;
    if (!l->holes) { /* no hole anywhere: the place is the first hole */
        while (p < n && !(k[p].addr == addr && k[p].tag == tag))
            p++;
        *hole = p;
        return p;
    }
    for (; p < n; p++) {
        if (k[p].addr == addr && k[p].tag == tag)
            break;
        if (h == UINT32_MAX && is_hole(k[p]))
            h = p;
    }
    *hole = h == UINT32_MAX ? p : h;
    return p;
}

static void cut_holes(const allassoc_t *a, allassoc_level_t *l, uint32_t set)
{
    const cache_key_t *k = &l->keys[(size_t)set * a->ways];
    while (l->holes && l->len[set] > 0 && is_hole(k[l->len[set] - 1])) {
        l->len[set]--;
        l->holes--;
    }
}

/* access's step for level k (its index k) when no stack of it holds a
 * hole: the search and the move down in one sweep, each place read and
 * written once (the first hole above the key is its own place, or the
 * stack's end on a miss) */
static inline void access_no_holes(allassoc_t *a, allassoc_level_t *l, size_t k,
                                   size_t base, uint32_t set, uint64_t addr,
                                   uint64_t tag, bool count_hit)
{
    cache_key_t *key = &l->keys[base];
    const uint32_t n = l->len[set];
    cache_key_t carry = {addr, tag};
    uint32_t p = 0;
    for (; p < n; p++) {
        cache_key_t t = key[p];
        key[p] = carry;
        if (t.addr == addr && t.tag == tag)
            break;
        carry = t;
    }
    bool found = p < n;
    if (found && count_hit)
        l->hit[p + 1]++;
    if (a->nwatch)
        a->depth[k] = found ? p + 1 : UINT32_MAX;
    l->evq[p]++;                 /* W <= p: full, and the key not in it */
    if (!found && n < a->ways) { /* else the bottom entry falls off */
        key[n] = carry;
        l->len[set] = n + 1;
    }
}

/* access()'s loop over the live set counts of the small layout, with
 * the watch's test whether any depth may make a followed geometry
 * differ (watch_may_differ) folded in, then the comparison. */
static inline __attribute__((always_inline)) void
small_levels(allassoc_t *a, uint32_t h, uint64_t addr, uint64_t tag,
             bool count_hit, bool ref_hit)
{
    const uint8_t f = fingerprint(addr, tag);
    const uint32_t ways = a->ways, wmask = a->wmask;
    const size_t *live = a->live, nlive = a->nlive;
    allassoc_level_t *lv = a->lv;
    uint32_t *depth = a->depth;
    const bool watch = a->nwatch && count_hit;
    const uint32_t *wb = a->wb;
    bool any = false;
    for (size_t x = 0; x < nlive; x++) {
        const size_t k = live[x];
        allassoc_level_t *l = &lv[k];
        small_access(l, ways, wmask, &depth[k], h & (l->sets - 1), addr, tag, f,
                     count_hit);
        if (watch)
            any |= watch_may_differ(wb, k, depth[k], ref_hit);
    }
    if (watch)
        watch_compare_any(a, ref_hit, any);
}

/* The key ends at the top of every stack: a hit (counted at its depth
 * when count_hit) or a fill.  Places above the first hole above it (or
 * above it, or above the bottom) move down one; W <= that place evict. */
static void access(allassoc_t *a, uint64_t addr, uint64_t tag, bool count_hit,
                   bool ref_hit)
{
    if (a->mru_ok && addr == a->mru_addr && tag == a->mru_tag) {
        /* at depth 1 everywhere: nothing moves, nothing is evicted; a
         * watched geometry differs only if the driving cache missed */
        if (!count_hit)
            return;
        a->mru_hits++;
        if (a->nwatch && ref_hit) {
            watch_tick(a);
        } else if (a->nwatch) {
            for (size_t x = 0; x < a->nlive; x++)
                a->depth[a->live[x]] = 1;
            watch_compare(a, ref_hit);
        }
        return;
    }
    a->mru_ok = true;
    a->mru_addr = addr;
    a->mru_tag = tag;
    /* every set count's index is the low bits of one hash (cache_index) */
    const uint32_t h = cache_index(addr, tag, UINT32_MAX);
    if (a->small) {
        /* (count_hit and ref_hit constants in each copy) */
        if (!count_hit)
            small_levels(a, h, addr, tag, false, false);
        else if (ref_hit)
            small_levels(a, h, addr, tag, true, true);
        else
            small_levels(a, h, addr, tag, true, false);
        return;
    }
    for (size_t x = 0; x < a->nlive; x++) {
        const size_t k = a->live[x];
        allassoc_level_t *l = &a->lv[k];
        uint32_t set = h & (l->sets - 1), hole;
        size_t base = (size_t)set * a->ways;
        if (!l->holes) {
            access_no_holes(a, l, k, base, set, addr, tag, count_hit);
            continue;
        }
        uint32_t p = find(a, l, set, addr, tag, &hole);
        bool found = p < l->len[set];
        if (found && count_hit)
            l->hit[p + 1]++;
        if (a->nwatch)
            a->depth[k] = found ? p + 1 : UINT32_MAX;
        uint32_t stop = hole; /* places 0..stop-1 move down one */
        if (!found && stop == a->ways)
            stop = a->ways - 1; /* the bottom entry falls off */
        /* W <= hole: the W-way set was full (no hole in its W places)
         * and the key was not in it: its last entry goes */
        l->evq[hole]++;
        cache_key_t *key = &l->keys[base];
        /* the move down fills the hole above it, if any; a key found
         * below a hole leaves one in its place (below): one fewer only
         * for a miss that fills a hole */
        if (!found && hole < l->len[set])
            l->holes--;
        if (found && hole < p)
            key[p] = hole_key; /* it moves up; its place is a hole */
        for (uint32_t j = stop; j > 0; j--)
            key[j] = key[j - 1];
        key[0] = (cache_key_t){addr, tag};
        if (!found && hole == l->len[set] && l->len[set] < a->ways)
            l->len[set]++;
        cut_holes(a, l, set);
    }
    if (a->nwatch && count_hit)
        watch_compare(a, ref_hit);
}

/* Is the key held at any depth by any set count? */
static bool held_in(const allassoc_t *a, const allassoc_level_t *l,
                    uint64_t addr, uint64_t tag)
{
    uint32_t set = cache_index(addr, tag, l->sets - 1), hole;
    if (a->small)
        return small_find(a, l, set, addr, tag, fingerprint(addr, tag),
                          &hole) != NO_PLACE;
    return find(a, l, set, addr, tag, &hole) < l->len[set];
}

static bool held(const allassoc_t *a, uint64_t addr, uint64_t tag)
{
    for (size_t x = 0; x < a->nlive; x++)
        if (held_in(a, &a->lv[a->live[x]], addr, tag))
            return true;
    return false;
}

/* A split part's held(): each set count that holds the key notes the
 * lookup (seq) unless it noted an earlier one; its decision says whether
 * the unsplit run still updated that set count then (link_decide). */
static void held_mark(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    for (size_t x = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        if (held_in(a, &a->lv[k], addr, tag) && a->inexact_seq[k] == UINT64_MAX)
            a->inexact_seq[k] = a->seq;
    }
}

/* The pending lookup got no fill (a fault, or the next probe of a
 * multi-size lookup): exact only if every geometry missed it too (a
 * split part notes where it was held, held_mark, and decides at its
 * checks and at the end, part_exact). */
static void end_pending(allassoc_t *a)
{
    if (!a->pending)
        return;
    a->pending = false;
    if (a->link)
        held_mark(a, a->pending_addr, a->pending_tag);
    else if (held(a, a->pending_addr, a->pending_tag))
        a->inexact = true;
}

/* (inlined: its direct caller is the public function) */
static inline __attribute__((always_inline)) void
lookup_now(allassoc_t *a, uint64_t addr, uint64_t tag, bool hit)
{
    end_pending(a);
    a->lookups++;
    a->seq++;
    if (hit) {
        access(a, addr, tag, true, true);
        return;
    }
    a->pending = true;
    a->pending_addr = addr;
    a->pending_tag = tag;
}

/* (inlined: its direct caller is the public function) */
static inline __attribute__((always_inline)) void
insert_now(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    if (a->pending && a->pending_addr == addr && a->pending_tag == tag) {
        a->pending = false;
        access(a, addr, tag, true, false);
        return;
    }
    end_pending(a);
    access(a, addr, tag, false, false); /* a fill with no lookup: a refresh */
}

static void feed_wait_done(allassoc_feed_t *f, uint64_t behind);

static void drop(allassoc_t *a, allassoc_level_t *l, uint32_t set, uint32_t p)
{
    l->keys[(size_t)set * a->ways + p] = hole_key;
    l->holes++;
    l->inval[p + 1]++;
}

/* Inclusion, which invalidate_now relies on: if a set count S' holds no
 * key k, no smaller set count S holds it (both live: updated by every
 * operation).  A stack of S holds exactly what an LRU cache C of S sets
 * and max_ways ways holds (its non-empty places, the header's rule for
 * W = max_ways), and likewise C' of S'; sets are the low bits of one
 * hash, so the keys of an S'-set X all map to one S-set Y.  Claim, for
 * every such X and Y after every operation: (a) C(Y) & X is within
 * C'(X); (b) each key of C'(X) not in C(Y) was accessed last before each
 * key of C(Y) & X.  Initially both are empty.  An invalidation of some
 * keys or a flush removes them from both: (a), (b) hold for fewer keys.
 * An access of k (a hit, or a fill; a lookup with no fill changes
 * nothing) in X: if C' holds k, C'(X) evicts nothing and C(Y) at most
 * its least recent u, which (if in X) stays in C'(X) and is older than
 * the rest of C(Y), so (b) holds; if C' misses k, so does C by (a), and
 * C'(X) evicts only when full, its least recent key v: were v in C(Y),
 * by (b) C'(X) would have no key outside C(Y), so C(Y) & X = C'(X) of
 * max_ways keys is all of C(Y), whose least recent is then v, evicted
 * by C too; either way k ends newest in both.  An access in Y but not X
 * leaves C'(X) as it was and C(Y) & X can only lose its least recent
 * key, which then joins (b)'s older ones.  (test_many_seeds checks this
 * by brute force, with holes at every depth.) */

/* (inlined: its direct caller is the public function) */
static inline __attribute__((always_inline)) void
invalidate_now(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    end_pending(a);
    if (addr == a->mru_addr && tag == a->mru_tag)
        a->mru_ok = false;
    /* The set counts largest first (a->live's order): the first that
     * does not hold the key ends the loop, no smaller one holds it
     * (inclusion, below). */
    const uint32_t h = cache_index(addr, tag, UINT32_MAX);
    if (a->small) {
        const uint8_t f = fingerprint(addr, tag);
        for (size_t x = 0; x < a->nlive; x++) {
            allassoc_level_t *l = &a->lv[a->live[x]];
            uint32_t set = h & (l->sets - 1), e;
            uint32_t p = small_find(a, l, set, addr, tag, f, &e);
            if (p == NO_PLACE)
                return;
            small_clear(&l->st[set], p);
            l->inval[p + 1]++;
        }
        return;
    }
    for (size_t x = 0; x < a->nlive; x++) {
        allassoc_level_t *l = &a->lv[a->live[x]];
        uint32_t set = h & (l->sets - 1), hole;
        uint32_t p = find(a, l, set, addr, tag, &hole);
        if (p >= l->len[set])
            return;
        drop(a, l, set, p);
        cut_holes(a, l, set);
    }
}

static void invalidate_if_now(allassoc_t *a,
                              bool (*match)(cache_key_t key, uint64_t val,
                                            void *arg),
                              void *arg);

void allassoc_invalidate_if(allassoc_t *a,
                            bool (*match)(cache_key_t key, uint64_t val,
                                          void *arg),
                            void *arg)
{
    /* match and arg are the caller's for this call only: applied here,
     * once the feed's thread has applied everything before */
    if (a->feed)
        feed_wait_done(a->feed, 0);
    a->put_pending = false;
    invalidate_if_now(a, match, arg);
    if (a->sib)
        invalidate_if_now(a->sib, match, arg);
}

static void invalidate_if_now(allassoc_t *a,
                              bool (*match)(cache_key_t key, uint64_t val,
                                            void *arg),
                              void *arg)
{
    end_pending(a);
    a->mru_ok = false;
    for (size_t x = 0; a->small && x < a->nlive; x++) {
        allassoc_level_t *l = &a->lv[a->live[x]];
        for (uint32_t set = 0; set < l->sets; set++) {
            allassoc_set_t *st = &l->st[set];
            const cache_key_t *key = &l->keys[(size_t)set * a->ways];
            uint32_t e;
            (void)small_masks(st, 0, &e);
            for (uint32_t p = 0; p < a->ways; p++)
                if (!(e >> p & 1u) && match(key[nib(st->ord, p)], 0, arg)) {
                    small_clear(st, p);
                    l->inval[p + 1]++;
                }
        }
    }
    for (size_t x = 0; !a->small && x < a->nlive; x++) {
        allassoc_level_t *l = &a->lv[a->live[x]];
        for (uint32_t set = 0; set < l->sets; set++) {
            const cache_key_t *key = &l->keys[(size_t)set * a->ways];
            for (uint32_t p = 0; p < l->len[set]; p++)
                if (!is_hole(key[p]) && match(key[p], 0, arg))
                    drop(a, l, set, p);
            cut_holes(a, l, set);
        }
    }
}

static void flush_now(allassoc_t *a)
{
    end_pending(a);
    a->mru_ok = false;
    for (size_t k = 0; k < a->nlv; k++) {
        allassoc_level_t *l = &a->lv[k];
        for (uint32_t s = 0; l->st && s < l->sets; s++)
            l->st[s].fp[0] = l->st[s].fp[1] = 0; /* (any order will do) */
        if (l->len)
            memset(l->len, 0, l->sets * sizeof *l->len);
        l->holes = 0;
    }
}

static void window_now(allassoc_t *a, bool begin)
{
    size_t n = a->ways + 2u;
    if (begin) {
        a->lookups = 0;
        a->mru_hits = 0;
    } else {
        a->lookups_f = a->lookups;
        a->mru_hits_f = a->mru_hits;
    }
    for (size_t k = 0; k < a->nlv; k++) {
        allassoc_level_t *l = &a->lv[k];
        if (begin) {
            memset(l->hit, 0, n * sizeof *l->hit);
            memset(l->evq, 0, n * sizeof *l->evq);
            memset(l->inval, 0, n * sizeof *l->inval);
        } else {
            memcpy(l->frozen, l->hit, n * sizeof *l->hit);
            memcpy(l->frozen + n, l->evq, n * sizeof *l->evq);
            memcpy(l->frozen + 2 * n, l->inval, n * sizeof *l->inval);
        }
    }
    a->closed = !begin;
}

/* ---- a feed: operations applied on a thread of their own ----------------
 *
 * The driving cache's thread (the producer) writes each operation into a
 * ring and publishes the ring's fill every FEED_CHUNK entries; the feed's
 * thread (the consumer) applies them in that order, so a shadow ends in
 * the state the same calls made directly would leave.  Indices only grow
 * (entry i at ring[i % FEED_RING]).  pub (entries the consumer may take)
 * and done (entries applied) are the only shared words besides the ring:
 * the producer's release of pub orders its entries (and anything it did
 * to a shadow itself, allassoc_invalidate_if after a drain) before their
 * use, the consumer's release of done orders its work before the
 * producer's next direct use or the ring's reuse.
 * Waits: each side sleeps on the lock's condition with its flag raised
 * and wakes only for a good share of work, so that a thread faster than
 * the other does not pay a wake-up per chunk: the consumer for FEED_WAKE
 * entries (or any, when the producer waits: `urgent`, or stops), the
 * producer, its ring full, for half the ring.  A side raises its index,
 * then reads the other's flag (both sequentially consistent: one of the
 * two sees the other) and signals under the lock. */
#define FEED_RING (1u << 14) /* entries (24 bytes each) */
#define FEED_CHUNK 256u      /* entries published at once */
#define FEED_WAKE (FEED_RING / 4u)
#define FEED_SPIN 64 /* polls before sleeping */

enum feed_op {
    OP_MISS,
    OP_HIT,
    OP_INSERT,
    OP_INVALIDATE,
    OP_FLUSH,
    OP_WINDOW_BEGIN,
    OP_WINDOW_END,
    OP_INEXACT
};

typedef struct feed_entry {
    uint64_t addr, tag;
    uint32_t shadow, op;
} feed_entry_t;

/* With two threads (allassoc_feed_new_threads), each is a consumer of
 * every entry: thread c updates part c of each split shadow (thread 0 a
 * shadow not split whole), and done is the lesser of the two. */
struct feed_thread {
    allassoc_feed_t *f;
    unsigned c;
};

/* The words each side writes often sit on cache lines of their own: the
 * producer's w at every entry, pub every FEED_CHUNK entries, each
 * consumer's done as often; the rest is written at a wait.  (All on two
 * lines, a consumer polling pub pulled the line w is on from the
 * producer's core.) */
#define FEED_LINE 64
struct allassoc_feed {
    /* read by the consumers at each entry, written at set-up */
    feed_entry_t *ring;
    allassoc_t *a[ALLASSOC_FEED_MAX];
    size_t n;
    unsigned nthreads; /* consumers: 1 or 2 */
    /* the producer's own */
    _Alignas(FEED_LINE) uint64_t w;           /* entries written */
    uint64_t room;                            /* done, as last read */
    _Alignas(FEED_LINE) _Atomic uint64_t pub; /* entries the consumers may
                                                 apply */
    struct {
        _Alignas(FEED_LINE) _Atomic uint64_t n;
    } done[2]; /* entries applied, per consumer */
    _Alignas(FEED_LINE) _Atomic uint64_t p_want; /* the producer sleeps until
                                                    done >= this */
    atomic_bool stop;      /* the producer ended the feed */
    atomic_bool urgent;    /* the producer waits: take any entry */
    atomic_bool c_wait[2]; /* a consumer sleeps */
    atomic_bool p_wait;    /* the producer sleeps */
    pthread_mutex_t lock;
    pthread_cond_t c_cv, p_cv;
    pthread_t tid[2];
    struct feed_thread th[2];
};

/* Entries every consumer applied. */
static uint64_t feed_done(allassoc_feed_t *f)
{
    uint64_t d = atomic_load(&f->done[0].n);
    if (f->nthreads > 1) {
        uint64_t e = atomic_load(&f->done[1].n);
        d = e < d ? e : d;
    }
    return d;
}

static void apply(allassoc_feed_t *f, const feed_entry_t *e, unsigned c)
{
    allassoc_t *a = f->a[e->shadow];
    if (c && !(a = a->sib))
        return;
    switch (e->op) {
    case OP_MISS:
    case OP_HIT:
        lookup_now(a, e->addr, e->tag, e->op == OP_HIT);
        return;
    case OP_INSERT:
        insert_now(a, e->addr, e->tag);
        return;
    case OP_INVALIDATE:
        invalidate_now(a, e->addr, e->tag);
        return;
    case OP_FLUSH:
        flush_now(a);
        return;
    case OP_WINDOW_BEGIN:
    case OP_WINDOW_END:
        window_now(a, e->op == OP_WINDOW_BEGIN);
        return;
    default:
        a->inexact = true;
        return;
    }
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Work for a consumer that applied r entries: enough of it, or any when
 * the producer waits or stopped. */
static bool feed_ready(allassoc_feed_t *f, uint64_t r)
{
    uint64_t p = atomic_load(&f->pub);
    return p - r >= FEED_WAKE ||
           (p != r && (atomic_load(&f->urgent) || atomic_load(&f->stop)));
}

/* Consumer c: true once the feed ended and everything is applied. */
static bool feed_wait_work(allassoc_feed_t *f, uint64_t r, unsigned c)
{
    for (int i = 0; i < FEED_SPIN; i++) {
        if (atomic_load(&f->pub) != r)
            return false;
        relax();
    }
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->c_wait[c], true);
    while (!feed_ready(f, r) && !atomic_load(&f->stop))
        pthread_cond_wait(&f->c_cv, &f->lock);
    atomic_store(&f->c_wait[c], false);
    bool end = atomic_load(&f->pub) == r; /* (and so stopped) */
    pthread_mutex_unlock(&f->lock);
    return end;
}

/* Wakes the side sleeping on cv: the lock taken and let go (a sleeper is
 * then in its wait, or will see the index raised before), the broadcast
 * after, so the woken thread does not block on the lock still held (with
 * the broadcast under the lock, a --threads 2 sweep of gen nic's 200k
 * packets waited on the mutex 103-271 times, now 42-60; strace, four
 * runs each, 2026-12-07, load 10). */
static void feed_wake(allassoc_feed_t *f, pthread_cond_t *cv)
{
    pthread_mutex_lock(&f->lock);
    pthread_mutex_unlock(&f->lock);
    pthread_cond_broadcast(cv);
}

static void *feed_main(void *arg)
{
    allassoc_feed_t *f = ((struct feed_thread *)arg)->f;
    const unsigned c = ((struct feed_thread *)arg)->c;
    uint64_t r = atomic_load(&f->done[c].n);
    for (;;) {
        uint64_t p = atomic_load(&f->pub);
        if (p == r) {
            if (feed_wait_work(f, r, c))
                return NULL;
            continue;
        }
        uint64_t end = p - r > FEED_CHUNK ? r + FEED_CHUNK : p;
        for (; r < end; r++)
            apply(f, &f->ring[r & (FEED_RING - 1u)], c);
        atomic_store(&f->done[c].n, r);
        if (atomic_load(&f->p_wait) &&
            feed_done(f) >= atomic_load(&f->p_want)) {
            feed_wake(f, &f->p_cv);
        }
    }
}

static void feed_publish(allassoc_feed_t *f)
{
    atomic_store(&f->pub, f->w);
    bool wake = false;
    for (unsigned c = 0; c < f->nthreads; c++)
        wake |= atomic_load(&f->c_wait[c]) &&
                feed_ready(f, atomic_load(&f->done[c].n));
    if (wake)
        feed_wake(f, &f->c_cv);
}

/* The producer waits until at most `behind` entries are not applied. */
static void feed_wait_done(allassoc_feed_t *f, uint64_t behind)
{
    uint64_t want = f->w - behind;
    if ((f->room = feed_done(f)) >= want)
        return;
    atomic_store(&f->urgent, true);
    feed_publish(f);
    for (int i = 0; i < FEED_SPIN; i++) {
        if ((f->room = feed_done(f)) >= want)
            goto out;
        relax();
    }
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->p_want, want);
    atomic_store(&f->p_wait, true);
    while ((f->room = feed_done(f)) < want)
        pthread_cond_wait(&f->p_cv, &f->lock);
    atomic_store(&f->p_wait, false);
    pthread_mutex_unlock(&f->lock);
out:
    atomic_store(&f->urgent, false);
}

static void feed_put(allassoc_t *a, enum feed_op op, uint64_t addr,
                     uint64_t tag)
{
    allassoc_feed_t *f = a->feed;
    if (f->w - f->room == FEED_RING)
        feed_wait_done(f, FEED_RING / 2u);
    f->ring[f->w & (FEED_RING - 1u)] =
        (feed_entry_t){addr, tag, a->feed_id, (uint32_t)op};
    if ((++f->w & (FEED_CHUNK - 1u)) == 0)
        feed_publish(f);
}

allassoc_feed_t *allassoc_feed_new_threads(unsigned threads, iosim_err_t *err)
{
    /* (its size a multiple of its alignment, FEED_LINE) */
    allassoc_feed_t *f = aligned_alloc(_Alignof(allassoc_feed_t), sizeof *f);
    if (f)
        memset(f, 0, sizeof *f);
    if (!f || !(f->ring = malloc(FEED_RING * sizeof *f->ring))) {
        free(f);
        return iosim_err_set(err, "all-associativity feed: out of memory"),
               NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->c_cv, NULL);
    pthread_cond_init(&f->p_cv, NULL);
    f->nthreads = threads > 1 ? 2 : 1;
    for (unsigned c = 0; c < f->nthreads; c++) {
        f->th[c] = (struct feed_thread){f, c};
        if (pthread_create(&f->tid[c], NULL, feed_main, &f->th[c])) {
            if (c == 1) { /* one thread, then */
                f->nthreads = 1;
                break;
            }
            pthread_mutex_destroy(&f->lock);
            pthread_cond_destroy(&f->c_cv);
            pthread_cond_destroy(&f->p_cv);
            free(f->ring);
            free(f);
            return iosim_err_set(err, "all-associativity feed: no thread"),
                   NULL;
        }
    }
    return f;
}

allassoc_feed_t *allassoc_feed_new(iosim_err_t *err)
{
    return allassoc_feed_new_threads(1, err);
}

/* Splits a (watched and given up as it will be, not split yet) into two
 * parts: part 1, a->sib, takes every other set count updated but ref's,
 * with the geometries watched of them; -1 if out of memory (a is then
 * unchanged).  See struct allassoc and allassoc_link_t. */
static int split(allassoc_t *a)
{
    size_t n = a->nwatch, nb = 0;
    allassoc_t *b = calloc(1, sizeof *b);
    bool *to_b = calloc(a->nlv + 1, sizeof *to_b);
    size_t *map = calloc(a->nlv + 1, sizeof *map);
    int rc = -1;
    if (!b || !to_b || !map)
        goto out;
    for (size_t x = 0, alt = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        if (n && k == a->ref_lv)
            continue;
        to_b[k] = alt++ % 2 == 0;
        nb += to_b[k];
    }
    size_t na = a->nlv - nb;
    allassoc_link_t *L = NULL;
    /* b starts as a (pending lookup, counts, seq, watch and give-up
     * state, feed), with arrays of its own (each replaced below) */
    *b = *a;
    b->nlv = b->nlive = b->nfollow = 0; /* (until its levels are in) */
    b->sib = NULL;
    b->link = NULL;
    b->gfollow = NULL;
    b->ck_seq = NULL;
    b->lv = calloc(nb + 1, sizeof *b->lv);
    b->live = calloc(nb + 1, sizeof *b->live);
    b->depth = calloc(nb + 1, sizeof *b->depth);
    b->inexact_seq = malloc((nb + 1) * sizeof *b->inexact_seq);
    a->inexact_seq = malloc((na + 1) * sizeof *a->inexact_seq);
    b->w_lv = calloc(n + 1, sizeof *b->w_lv);
    b->w_ways = calloc(n + 1, sizeof *b->w_ways);
    b->w_differs = calloc(n + 1, sizeof *b->w_differs);
    b->w_key = calloc(n + 1, sizeof *b->w_key);
    b->follow = calloc(n + 1, sizeof *b->follow);
    b->wb = calloc(2 * (nb + 1), sizeof *b->wb);
    uint32_t *adepth = calloc(na + 1, sizeof *adepth);
    bool linked = n && a->give_up;
    if (linked) {
        L = calloc(1, sizeof *L);
        a->gfollow = calloc(2 * n, sizeof *a->gfollow);
        b->gfollow = calloc(2 * n, sizeof *b->gfollow);
        a->ck_seq = calloc(LINK_SLOTS, sizeof *a->ck_seq);
        b->ck_seq = calloc(LINK_SLOTS, sizeof *b->ck_seq);
        if (L) {
            L->nwatch = n;
            L->differs = calloc(LINK_SLOTS * n, sizeof *L->differs);
            L->key = calloc(LINK_SLOTS * n, sizeof *L->key);
        }
    }
    if (!b->lv || !b->live || !b->depth || !b->inexact_seq || !a->inexact_seq ||
        !b->w_lv || !b->w_ways || !b->w_differs || !b->w_key || !b->follow ||
        !b->wb || !adepth ||
        (linked && (!L || !L->differs || !L->key || !a->gfollow ||
                    !b->gfollow || !a->ck_seq || !b->ck_seq))) {
        link_free(L);
        free(adepth);
        free(a->gfollow);
        free(a->ck_seq);
        free(a->inexact_seq);
        a->gfollow = NULL;
        a->ck_seq = NULL;
        a->inexact_seq = NULL;
        goto out;
    }
    /* the levels: a keeps its own in order, b takes the others */
    size_t ia = 0, ib = 0;
    for (size_t k = 0; k < a->nlv; k++)
        if (to_b[k]) {
            map[k] = ib;
            b->lv[ib++] = a->lv[k];
        } else {
            map[k] = ia;
            a->lv[ia++] = a->lv[k];
        }
    size_t la = 0;
    for (size_t x = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        if (to_b[k])
            b->live[b->nlive++] = map[k];
        else
            a->live[la++] = map[k];
    }
    for (size_t k = 0; k < na; k++)
        a->inexact_seq[k] = UINT64_MAX;
    for (size_t k = 0; k < nb; k++)
        b->inexact_seq[k] = UINT64_MAX;
    /* the watched geometries, each in the part of its set count */
    size_t fa = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = a->w_lv[i];
        b->w_ways[i] = a->w_ways[i];
        b->w_differs[i] = a->w_differs[i];
        b->w_key[i] = a->w_key[i];
        b->w_lv[i] = to_b[k] ? map[k] : SIZE_MAX;
        a->w_lv[i] = to_b[k] ? SIZE_MAX : map[k];
    }
    for (size_t f = 0; f < a->nfollow; f++) {
        size_t i = a->follow[f];
        if (linked) {
            a->gfollow[i] = true;
            b->gfollow[i] = true;
        }
        if (a->w_lv[i] == SIZE_MAX)
            b->follow[b->nfollow++] = i;
        else
            a->follow[fa++] = i;
    }
    if (n) {
        a->ref_lv = map[a->ref_lv];
        free(a->depth);
        a->depth = adepth;
        adepth = NULL;
    }
    free(adepth);
    b->ref_lv = SIZE_MAX;
    b->nlv = nb;
    a->nlv = na;
    a->nlive = la;
    a->nfollow = fa;
    if (n) {
        follow_bounds(a);
        follow_bounds(b);
    }
    b->part = 1;
    a->part = 0;
    a->link = b->link = L;
    a->sib = b;
    b = NULL;
    rc = 0;
out:
    if (b)
        allassoc_free(b);
    free(to_b);
    free(map);
    return rc;
}

int allassoc_feed_add(allassoc_feed_t *f, allassoc_t *a, iosim_err_t *err)
{
    if (f->n == ALLASSOC_FEED_MAX)
        return iosim_err_set(err,
                             "all-associativity feed: more than %d "
                             "shadows",
                             ALLASSOC_FEED_MAX);
    if (f->w)
        feed_wait_done(f, 0);
    /* two threads: a's set counts split between them, if it updates
     * two or more besides ref's (not split: thread 0 updates it) */
    size_t others = 0;
    for (size_t x = 0; x < a->nlive; x++)
        others += !a->nwatch || a->live[x] != a->ref_lv;
    if (f->nthreads > 1 && !a->sib && others >= 2 && split(a))
        return iosim_err_set(err, "all-associativity feed: out of memory");
    a->feed = f;
    a->feed_id = (uint32_t)f->n;
    if (a->sib)
        a->sib->feed = f;
    f->a[f->n++] = a;
    return 0;
}

/* Split part a's decisions not applied yet (both parts stopped at the
 * same place: every check's values are in). */
static void link_finish(allassoc_t *a)
{
    if (a->link) {
        link_apply(a);
        link_apply(a->sib);
    }
}

void allassoc_feed_free(allassoc_feed_t *f)
{
    if (!f)
        return;
    feed_publish(f);
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->stop, true);
    pthread_cond_broadcast(&f->c_cv);
    pthread_mutex_unlock(&f->lock);
    for (unsigned c = 0; c < f->nthreads; c++)
        pthread_join(f->tid[c], NULL);
    for (size_t i = 0; i < f->n; i++) {
        f->a[i]->feed = NULL;
        if (f->a[i]->sib)
            f->a[i]->sib->feed = NULL;
        link_finish(f->a[i]);
    }
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->c_cv);
    pthread_cond_destroy(&f->p_cv);
    free(f->ring);
    free(f);
}

/* ---- the driving cache's operations -------------------------------------- */

/* A key with this tag goes into the stacks (seen_tag). */
static void note_tag_slow(allassoc_t *a, uint64_t tag)
{
    unsigned i = 0;
    while (i < a->nseen && a->seen_tag[i] != tag)
        i++;
    if (i == a->nseen) {
        if (a->nseen == ALLASSOC_SEEN_TAGS) {
            a->seen_any_tag = true;
            return;
        }
        a->nseen++;
    }
    for (; i > 0; i--) /* to the front: seen_tag[0] is the last */
        a->seen_tag[i] = a->seen_tag[i - 1];
    a->seen_tag[0] = tag;
}

static inline void note_tag(allassoc_t *a, uint64_t tag)
{
    if (tag != a->seen_tag[0])
        note_tag_slow(a, tag);
}

/* May a stack hold a key with this tag? */
static bool tag_seen(const allassoc_t *a, uint64_t tag)
{
    if (a->seen_any_tag || tag == HOLE_TAG) /* (HOLE_TAG: seen_tag[0]'s
                                               start, never noted) */
        return true;
    for (unsigned i = 0; i < a->nseen; i++)
        if (a->seen_tag[i] == tag)
            return true;
    return false;
}

void allassoc_lookup(allassoc_t *a, uint64_t addr, uint64_t tag, bool hit)
{
    a->put_pending = !hit;
    if (hit)
        note_tag(a, tag);
    if (a->feed) {
        feed_put(a, hit ? OP_HIT : OP_MISS, addr, tag);
        return;
    }
    lookup_now(a, addr, tag, hit);
    if (a->sib)
        lookup_now(a->sib, addr, tag, hit);
}

void allassoc_insert(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    a->put_pending = false;
    note_tag(a, tag);
    if (a->feed) {
        feed_put(a, OP_INSERT, addr, tag);
        return;
    }
    insert_now(a, addr, tag);
    if (a->sib)
        insert_now(a->sib, addr, tag);
}

void allassoc_invalidate(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    /* no stack holds the key (find would miss in every set count) and
     * no pending lookup ends (end_pending): nothing to do.  A range
     * invalidation probed every page size's key (vtd.c inval_lines,
     * which now keeps to the sizes the domain filled, and to 4 KB): on
     * gen nic two of each three probes of a sweep's leader were of 2 MB
     * and 1 GB entries it never held, 278 instructions each */
    if (!a->put_pending && !tag_seen(a, tag))
        return;
    a->put_pending = false;
    if (a->feed) {
        feed_put(a, OP_INVALIDATE, addr, tag);
        return;
    }
    invalidate_now(a, addr, tag);
    if (a->sib)
        invalidate_now(a->sib, addr, tag);
}

void allassoc_flush(allassoc_t *a)
{
    a->put_pending = false;
    if (a->feed) {
        feed_put(a, OP_FLUSH, 0, 0);
        return;
    }
    flush_now(a);
    if (a->sib)
        flush_now(a->sib);
}

void allassoc_window(allassoc_t *a, bool begin)
{
    if (a->feed) {
        feed_put(a, begin ? OP_WINDOW_BEGIN : OP_WINDOW_END, 0, 0);
        return;
    }
    window_now(a, begin);
    if (a->sib)
        window_now(a->sib, begin);
}

void allassoc_inexact(allassoc_t *a)
{
    if (a->feed)
        feed_put(a, OP_INEXACT, 0, 0);
    else
        a->inexact = true;
}

/* A part's own exactness: its flag, and (split with give-up) a key held
 * at a pending lookup by a set count still updated. */
static bool part_exact(allassoc_t *a)
{
    end_pending(a);
    for (size_t x = 0; a->link && x < a->nlive; x++)
        if (a->inexact_seq[a->live[x]] != UINT64_MAX)
            return false;
    return !a->inexact;
}

bool allassoc_exact(allassoc_t *a)
{
    if (a->feed)
        feed_wait_done(a->feed, 0);
    if (!a->sib)
        return part_exact(a);
    link_finish(a); /* (both parts at the same place) */
    bool e0 = part_exact(a), e1 = part_exact(a->sib);
    return e0 && e1;
}

int allassoc_counts(const allassoc_t *a, uint32_t sets, uint32_t ways,
                    allassoc_counts_t *out)
{
    if (ways == 0 || ways > a->ways)
        return -1;
    for (size_t k = 0; k < a->nlv; k++) {
        const allassoc_level_t *l = &a->lv[k];
        if (l->sets != sets)
            continue;
        const size_t n = a->ways + 2u;
        const uint64_t *hit = a->closed ? l->frozen : l->hit;
        const uint64_t *evq = a->closed ? l->frozen + n : l->evq;
        const uint64_t *inval = a->closed ? l->frozen + 2 * n : l->inval;
        uint64_t hits = 0, ev = 0, inv = 0;
        for (uint32_t w = 1; w <= ways; w++) {
            hits += hit[w];
            inv += inval[w];
        }
        for (uint32_t q = ways; q <= a->ways; q++)
            ev += evq[q];
        out->lookups = a->closed ? a->lookups_f : a->lookups;
        out->hits = hits + (a->closed ? a->mru_hits_f : a->mru_hits);
        out->evictions = ev;
        out->invalidated = inv;
        return 0;
    }
    return a->sib ? allassoc_counts(a->sib, sets, ways, out) : -1;
}
