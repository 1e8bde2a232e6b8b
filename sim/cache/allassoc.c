/* allassoc.c — every LRU geometry of one cache in one pass (allassoc.h).
 *
 * Concepts (implementation): per set count S, S stacks of at most
 * max_ways places in one key array (place j of set i at
 * i * max_ways + j, place 0 the most recent); a hole is
 * the key HOLE (no cache key is all ones: VT-d's addresses are page
 * numbers, its tags 42 bits), so an update moves one array.
 * Per S three arrays over depth 1..max_ways: hits found at depth d, and
 * two difference arrays (a +1 at 1 and a -1 past the last W affected)
 * for evictions and invalidated entries; a prefix sum gives the counts of
 * one W. */
#include "cache/allassoc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Most stack places over all set counts (bounds memory: 16 bytes each). */
#define ALLASSOC_MAX_PLACES (1u << 26)
#define HOLE_ADDR UINT64_MAX
#define HOLE_TAG UINT64_MAX

static inline bool is_hole(cache_key_t k)
{
    return k.addr == HOLE_ADDR && k.tag == HOLE_TAG;
}
static const cache_key_t hole_key = {HOLE_ADDR, HOLE_TAG};

typedef struct allassoc_level { /* one set count */
    uint32_t sets;
    cache_key_t *keys; /* HOLE: an empty place */
    uint32_t *len;     /* places in use per set (trailing holes cut) */
    uint64_t holes;    /* holes among the places in use, all sets: none
                          (no invalidation left one) spares find and
                          cut_holes their hole tests */
    uint64_t *hit;     /* [d]: hits found at depth d (1..max_ways)   */
    int64_t *evict;    /* difference array over W                     */
    int64_t *inval;    /* difference array over W                     */
    uint64_t *hit_f;   /* the three as a closed window left them      */
    int64_t *evict_f, *inval_f;
} allassoc_level_t;

struct allassoc {
    allassoc_level_t *lv;
    size_t nlv;
    /* the set counts still updated (all but those allassoc_watch_give_up
     * left: indices into lv), nlive of them */
    size_t *live, nlive;
    uint32_t ways; /* max_ways: places per stack */
    bool pending;  /* a lookup that missed in the driving cache */
    uint64_t pending_addr, pending_tag;
    bool inexact;
    bool closed; /* a measurement window closed: counts are the _f ones */
    uint64_t lookups, lookups_f; /* lookups reported (and when closed) */
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
    /* the watched geometries still followed (indices), nfollow of them;
     * give_up: allassoc_watch_give_up, whose next check is at lookup
     * give_up_at */
    size_t *follow, nfollow;
    bool give_up;
    uint64_t give_up_at;
    allassoc_feed_t *feed; /* NULL: operations applied as reported */
    uint32_t feed_id;      /* its index among the feed's shadows */
};

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
        !(a->live = calloc(nsets, sizeof *a->live))) {
        if (a)
            free(a->lv);
        free(a);
        return iosim_err_set(err, "all-associativity: out of memory"), NULL;
    }
    a->nlv = nsets;
    a->nlive = nsets;
    a->ways = max_ways;
    for (size_t i = 0; i < nsets; i++) {
        allassoc_level_t *l = &a->lv[i];
        size_t n = (size_t)sets[i] * max_ways;
        a->live[i] = i;
        l->sets = sets[i];
        l->keys = malloc(n * sizeof *l->keys);
        l->len = calloc(sets[i], sizeof *l->len);
        l->hit = calloc(max_ways + 2u, sizeof *l->hit);
        l->evict = calloc(max_ways + 2u, sizeof *l->evict);
        l->inval = calloc(max_ways + 2u, sizeof *l->inval);
        l->hit_f = calloc(max_ways + 2u, sizeof *l->hit_f);
        l->evict_f = calloc(max_ways + 2u, sizeof *l->evict_f);
        l->inval_f = calloc(max_ways + 2u, sizeof *l->inval_f);
        if (!l->keys || !l->len || !l->hit || !l->evict || !l->inval ||
            !l->hit_f || !l->evict_f || !l->inval_f) {
            allassoc_free(a);
            return iosim_err_set(err, "all-associativity: out of memory"), NULL;
        }
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
        free(l->len);
        free(l->hit);
        free(l->evict);
        free(l->inval);
        free(l->hit_f);
        free(l->evict_f);
        free(l->inval_f);
    }
    free(a->lv);
    free(a->live);
    free(a->follow);
    free(a->depth);
    free(a->w_lv);
    free(a->w_ways);
    free(a->w_differs);
    free(a->w_key);
    free(a);
}

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
    a->depth = calloc(a->nlv, sizeof *a->depth);
    a->w_lv = calloc(n ? n : 1, sizeof *a->w_lv);
    a->w_ways = calloc(n ? n : 1, sizeof *a->w_ways);
    a->w_differs = calloc(n ? n : 1, sizeof *a->w_differs);
    a->w_key = calloc(n ? n : 1, sizeof *a->w_key);
    a->follow = calloc(n ? n : 1, sizeof *a->follow);
    if (!a->depth || !a->w_lv || !a->w_ways || !a->w_differs || !a->w_key ||
        !a->follow)
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
    return 0;
}

void allassoc_watch_give_up(allassoc_t *a) { a->give_up = true; }

bool allassoc_watch_followed(const allassoc_t *a, size_t i)
{
    for (size_t j = 0; j < a->nfollow; j++)
        if (a->follow[j] == i)
            return true;
    return false;
}

void allassoc_watch_result(const allassoc_t *a, size_t i, uint64_t *differs,
                           uint64_t *key)
{
    *differs = i < a->nwatch ? a->w_differs[i] : 0;
    *key = i < a->nwatch ? a->w_key[i] : 0;
}

/* Lookups between allassoc_watch_give_up's checks (each is O(n^2) in
 * the geometries followed). */
#define GIVE_UP_EVERY 1024u

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
    size_t n = 0;
    for (size_t x = 0; x < a->nlive; x++) {
        size_t k = a->live[x];
        bool used = k == a->ref_lv;
        for (size_t f = 0; f < a->nfollow && !used; f++)
            used = a->w_lv[a->follow[f]] == k;
        if (used)
            a->live[n++] = k;
    }
    a->nlive = n;
}

/* After a lookup's access (a->depth filled): each watched geometry's
 * outcome against the reference's. */
static void watch_compare(allassoc_t *a)
{
    bool ref = a->depth[a->ref_lv] <= a->ref_ways;
    for (size_t f = 0; f < a->nfollow; f++) {
        size_t i = a->follow[f];
        if ((a->depth[a->w_lv[i]] <= a->w_ways[i]) != ref) {
            a->w_differs[i]++;
            /* FNV-1a style mixing of the lookup's position */
            a->w_key[i] = (a->w_key[i] ^ a->seq) * 0x100000001b3ull +
                          0x9e3779b97f4a7c15ull;
        }
    }
    if (a->give_up && a->seq >= a->give_up_at) {
        give_up_check(a);
        a->give_up_at = a->seq + GIVE_UP_EVERY;
    }
}

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
    if (p > 0) { /* W <= p: full, and the key not in it */
        l->evict[1]++;
        l->evict[p + 1]--;
    }
    if (!found && n < a->ways) { /* else the bottom entry falls off */
        key[n] = carry;
        l->len[set] = n + 1;
    }
}

/* The key ends at the top of every stack: a hit (counted at its depth
 * when count_hit) or a fill.  Places above the first hole above it (or
 * above it, or above the bottom) move down one; W <= that place evict. */
static void access(allassoc_t *a, uint64_t addr, uint64_t tag, bool count_hit)
{
    /* every set count's index is the low bits of one hash (cache_index) */
    const uint32_t h = cache_index(addr, tag, UINT32_MAX);
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
        if (hole > 0) {
            l->evict[1]++;
            l->evict[hole + 1]--;
        }
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
        watch_compare(a);
}

/* Is the key held at any depth by any set count? */
static bool held(const allassoc_t *a, uint64_t addr, uint64_t tag)
{
    for (size_t x = 0; x < a->nlive; x++) {
        const allassoc_level_t *l = &a->lv[a->live[x]];
        uint32_t set = cache_index(addr, tag, l->sets - 1), hole;
        if (find(a, l, set, addr, tag, &hole) < l->len[set])
            return true;
    }
    return false;
}

/* The pending lookup got no fill (a fault, or the next probe of a
 * multi-size lookup): exact only if every geometry missed it too. */
static void end_pending(allassoc_t *a)
{
    if (!a->pending)
        return;
    a->pending = false;
    if (held(a, a->pending_addr, a->pending_tag))
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
        access(a, addr, tag, true);
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
        access(a, addr, tag, true);
        return;
    }
    end_pending(a);
    access(a, addr, tag, false); /* a fill with no lookup: a refresh */
}

static void feed_wait_done(allassoc_feed_t *f, uint64_t behind);

static void drop(allassoc_t *a, allassoc_level_t *l, uint32_t set, uint32_t p)
{
    l->keys[(size_t)set * a->ways + p] = hole_key;
    l->holes++;
    l->inval[p + 1]++;
}

/* (inlined: its direct caller is the public function) */
static inline __attribute__((always_inline)) void
invalidate_now(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    end_pending(a);
    const uint32_t h = cache_index(addr, tag, UINT32_MAX);
    for (size_t x = 0; x < a->nlive; x++) {
        allassoc_level_t *l = &a->lv[a->live[x]];
        uint32_t set = h & (l->sets - 1), hole;
        uint32_t p = find(a, l, set, addr, tag, &hole);
        if (p < l->len[set]) {
            drop(a, l, set, p);
            cut_holes(a, l, set);
        }
    }
}

void allassoc_invalidate_if(allassoc_t *a,
                            bool (*match)(cache_key_t key, uint64_t val,
                                          void *arg),
                            void *arg)
{
    /* match and arg are the caller's for this call only: applied here,
     * once the feed's thread has applied everything before */
    if (a->feed)
        feed_wait_done(a->feed, 0);
    end_pending(a);
    for (size_t x = 0; x < a->nlive; x++) {
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
    for (size_t k = 0; k < a->nlv; k++) {
        memset(a->lv[k].len, 0, a->lv[k].sets * sizeof *a->lv[k].len);
        a->lv[k].holes = 0;
    }
}

static void window_now(allassoc_t *a, bool begin)
{
    size_t n = a->ways + 2u;
    if (begin)
        a->lookups = 0;
    else
        a->lookups_f = a->lookups;
    for (size_t k = 0; k < a->nlv; k++) {
        allassoc_level_t *l = &a->lv[k];
        if (begin) {
            memset(l->hit, 0, n * sizeof *l->hit);
            memset(l->evict, 0, n * sizeof *l->evict);
            memset(l->inval, 0, n * sizeof *l->inval);
        } else {
            memcpy(l->hit_f, l->hit, n * sizeof *l->hit);
            memcpy(l->evict_f, l->evict, n * sizeof *l->evict);
            memcpy(l->inval_f, l->inval, n * sizeof *l->inval);
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

struct allassoc_feed {
    feed_entry_t *ring;
    allassoc_t *a[ALLASSOC_FEED_MAX];
    size_t n;
    uint64_t w;              /* the producer's: entries written */
    uint64_t room;           /* the producer's: done, as last read */
    _Atomic uint64_t pub;    /* entries the consumer may apply */
    _Atomic uint64_t done;   /* entries applied */
    _Atomic uint64_t p_want; /* the producer sleeps until done >= this */
    atomic_bool stop;        /* the producer ended the feed */
    atomic_bool urgent;      /* the producer waits: take any entry */
    atomic_bool c_wait;      /* the consumer sleeps */
    atomic_bool p_wait;      /* the producer sleeps */
    pthread_mutex_t lock;
    pthread_cond_t c_cv, p_cv;
    pthread_t tid;
};

static void apply(allassoc_feed_t *f, const feed_entry_t *e)
{
    allassoc_t *a = f->a[e->shadow];
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

/* The consumer: true once the feed ended and everything is applied. */
static bool feed_wait_work(allassoc_feed_t *f, uint64_t r)
{
    for (int i = 0; i < FEED_SPIN; i++) {
        if (atomic_load(&f->pub) != r)
            return false;
        relax();
    }
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->c_wait, true);
    while (!feed_ready(f, r) && !atomic_load(&f->stop))
        pthread_cond_wait(&f->c_cv, &f->lock);
    atomic_store(&f->c_wait, false);
    bool end = atomic_load(&f->pub) == r; /* (and so stopped) */
    pthread_mutex_unlock(&f->lock);
    return end;
}

static void *feed_main(void *arg)
{
    allassoc_feed_t *f = arg;
    uint64_t r = 0;
    for (;;) {
        uint64_t p = atomic_load(&f->pub);
        if (p == r) {
            if (feed_wait_work(f, r))
                return NULL;
            continue;
        }
        uint64_t end = p - r > FEED_CHUNK ? r + FEED_CHUNK : p;
        for (; r < end; r++)
            apply(f, &f->ring[r & (FEED_RING - 1u)]);
        atomic_store(&f->done, r);
        if (atomic_load(&f->p_wait) && r >= atomic_load(&f->p_want)) {
            pthread_mutex_lock(&f->lock);
            pthread_cond_signal(&f->p_cv);
            pthread_mutex_unlock(&f->lock);
        }
    }
}

static void feed_publish(allassoc_feed_t *f)
{
    atomic_store(&f->pub, f->w);
    if (atomic_load(&f->c_wait) && feed_ready(f, atomic_load(&f->done))) {
        pthread_mutex_lock(&f->lock);
        pthread_cond_signal(&f->c_cv);
        pthread_mutex_unlock(&f->lock);
    }
}

/* The producer waits until at most `behind` entries are not applied. */
static void feed_wait_done(allassoc_feed_t *f, uint64_t behind)
{
    uint64_t want = f->w - behind;
    if ((f->room = atomic_load(&f->done)) >= want)
        return;
    atomic_store(&f->urgent, true);
    feed_publish(f);
    for (int i = 0; i < FEED_SPIN; i++) {
        if ((f->room = atomic_load(&f->done)) >= want)
            goto out;
        relax();
    }
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->p_want, want);
    atomic_store(&f->p_wait, true);
    while ((f->room = atomic_load(&f->done)) < want)
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

allassoc_feed_t *allassoc_feed_new(iosim_err_t *err)
{
    allassoc_feed_t *f = calloc(1, sizeof *f);
    if (!f || !(f->ring = malloc(FEED_RING * sizeof *f->ring))) {
        free(f);
        return iosim_err_set(err, "all-associativity feed: out of memory"),
               NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->c_cv, NULL);
    pthread_cond_init(&f->p_cv, NULL);
    if (pthread_create(&f->tid, NULL, feed_main, f)) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->c_cv);
        pthread_cond_destroy(&f->p_cv);
        free(f->ring);
        free(f);
        return iosim_err_set(err, "all-associativity feed: no thread"), NULL;
    }
    return f;
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
    a->feed = f;
    a->feed_id = (uint32_t)f->n;
    f->a[f->n++] = a;
    return 0;
}

void allassoc_feed_free(allassoc_feed_t *f)
{
    if (!f)
        return;
    feed_publish(f);
    pthread_mutex_lock(&f->lock);
    atomic_store(&f->stop, true);
    pthread_cond_signal(&f->c_cv);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->tid, NULL);
    for (size_t i = 0; i < f->n; i++)
        f->a[i]->feed = NULL;
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->c_cv);
    pthread_cond_destroy(&f->p_cv);
    free(f->ring);
    free(f);
}

/* ---- the driving cache's operations -------------------------------------- */

void allassoc_lookup(allassoc_t *a, uint64_t addr, uint64_t tag, bool hit)
{
    if (a->feed)
        feed_put(a, hit ? OP_HIT : OP_MISS, addr, tag);
    else
        lookup_now(a, addr, tag, hit);
}

void allassoc_insert(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    if (a->feed)
        feed_put(a, OP_INSERT, addr, tag);
    else
        insert_now(a, addr, tag);
}

void allassoc_invalidate(allassoc_t *a, uint64_t addr, uint64_t tag)
{
    if (a->feed)
        feed_put(a, OP_INVALIDATE, addr, tag);
    else
        invalidate_now(a, addr, tag);
}

void allassoc_flush(allassoc_t *a)
{
    if (a->feed)
        feed_put(a, OP_FLUSH, 0, 0);
    else
        flush_now(a);
}

void allassoc_window(allassoc_t *a, bool begin)
{
    if (a->feed)
        feed_put(a, begin ? OP_WINDOW_BEGIN : OP_WINDOW_END, 0, 0);
    else
        window_now(a, begin);
}

void allassoc_inexact(allassoc_t *a)
{
    if (a->feed)
        feed_put(a, OP_INEXACT, 0, 0);
    else
        a->inexact = true;
}

bool allassoc_exact(allassoc_t *a)
{
    if (a->feed)
        feed_wait_done(a->feed, 0);
    end_pending(a);
    return !a->inexact;
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
        const uint64_t *hit = a->closed ? l->hit_f : l->hit;
        const int64_t *evict = a->closed ? l->evict_f : l->evict;
        const int64_t *inval = a->closed ? l->inval_f : l->inval;
        int64_t ev = 0, inv = 0;
        uint64_t hits = 0;
        for (uint32_t w = 1; w <= ways; w++) {
            hits += hit[w];
            ev += evict[w];
            inv += inval[w];
        }
        out->lookups = a->closed ? a->lookups_f : a->lookups;
        out->hits = hits;
        out->evictions = (uint64_t)ev;
        out->invalidated = (uint64_t)inv;
        return 0;
    }
    return -1;
}
