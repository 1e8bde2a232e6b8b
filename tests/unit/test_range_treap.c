/* test_range_treap.c — the ordered range set of sim/base/range_treap.c.
 *
 * Every answer is checked against a brute-force oracle: a plain array of
 * the ranges in the tree, scanned linearly for the nearest range below or
 * above a key and for the one containing it.  Thousands of random
 * inserts and removes (a fixed-seed generator of the test's own) are
 * interleaved with look-ups at range edges, one past them and in gaps;
 * after every step the tree must also be a search tree by lo and a heap
 * by priority, and hold exactly the oracle's count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/range_treap.h"

#define SLOTS 512 /* candidate ranges: slot i is [8i + a, 8i + b] */

typedef struct oracle {
    range_node_t node[SLOTS];
    bool in[SLOTS];
    size_t n;
} oracle_t;

/* A linear congruential generator (Knuth's MMIX constants): independent
 * of the tree's xorshift priorities. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static const range_node_t *brute_below(const oracle_t *o, uint64_t key,
                                       bool inclusive)
{
    const range_node_t *best = NULL;
    for (size_t i = 0; i < SLOTS; i++) {
        const range_node_t *n = &o->node[i];
        if (o->in[i] && (n->lo < key || (inclusive && n->lo == key)) &&
            (!best || n->lo > best->lo))
            best = n;
    }
    return best;
}

static const range_node_t *brute_above(const oracle_t *o, uint64_t key,
                                       bool inclusive)
{
    const range_node_t *best = NULL;
    for (size_t i = 0; i < SLOTS; i++) {
        const range_node_t *n = &o->node[i];
        if (o->in[i] && (n->lo > key || (inclusive && n->lo == key)) &&
            (!best || n->lo < best->lo))
            best = n;
    }
    return best;
}

static const range_node_t *brute_containing(const oracle_t *o, uint64_t key)
{
    for (size_t i = 0; i < SLOTS; i++)
        if (o->in[i] && o->node[i].lo <= key && key <= o->node[i].hi)
            return &o->node[i];
    return NULL;
}

/* Checks order and heap property below n; returns the node count. */
static size_t check_shape(const range_node_t *n, uint64_t lo_min,
                          uint64_t lo_max)
{
    if (!n)
        return 0;
    assert_true(n->lo >= lo_min && n->lo <= lo_max);
    if (n->l) {
        assert_true(n->l->prio <= n->prio);
        assert_true(n->lo > 0);
    }
    if (n->r)
        assert_true(n->r->prio <= n->prio);
    return 1 + check_shape(n->l, lo_min, n->lo ? n->lo - 1 : 0) +
           check_shape(n->r, n->lo + 1, lo_max);
}

static void check_all(const range_treap_t *t, const oracle_t *o)
{
    assert_int_equal(t->count, o->n);
    assert_int_equal(check_shape(t->root, 0, UINT64_MAX), o->n);
    /* every key from below the first slot to past the last */
    for (uint64_t key = 0; key < 8 * SLOTS + 3; key++) {
        assert_ptr_equal(range_treap_below(t, key, true),
                         brute_below(o, key, true));
        assert_ptr_equal(range_treap_below(t, key, false),
                         brute_below(o, key, false));
        assert_ptr_equal(range_treap_above(t, key, true),
                         brute_above(o, key, true));
        assert_ptr_equal(range_treap_above(t, key, false),
                         brute_above(o, key, false));
        assert_ptr_equal(range_treap_containing(t, key),
                         brute_containing(o, key));
    }
}

static void test_random_against_array(void **state)
{
    (void)state;
    static oracle_t o;
    range_treap_t t;
    range_treap_init(&t, 0x9e3779b9u);
    uint64_t seed = 12345;
    /* slot i holds [8i + 1, 8i + 1 + w], w in 0..5: gaps of 1 to 6 keys */
    for (size_t i = 0; i < SLOTS; i++) {
        o.node[i].lo = 8 * i + 1;
        o.node[i].hi = o.node[i].lo + lcg(&seed) % 6;
    }
    check_all(&t, &o); /* empty: every look-up NULL */
    for (int step = 0; step < 4000; step++) {
        size_t i = lcg(&seed) % SLOTS;
        if (o.in[i]) {
            range_treap_remove(&t, &o.node[i]);
            o.in[i] = false;
            o.n--;
        } else {
            range_treap_insert(&t, &o.node[i]);
            o.in[i] = true;
            o.n++;
        }
        if (step % 200 == 199)
            check_all(&t, &o);
    }
    check_all(&t, &o);
    /* remove everything in slot order: the tree ends empty */
    for (size_t i = 0; i < SLOTS; i++)
        if (o.in[i]) {
            range_treap_remove(&t, &o.node[i]);
            o.in[i] = false;
            o.n--;
        }
    check_all(&t, &o);
    assert_null(t.root);
}

/* Sorted insertion (the allocator's typical top-down order) must not
 * degenerate into a list: the depth stays near 2 ln n, far below n. */
static size_t depth(const range_node_t *n)
{
    if (!n)
        return 0;
    size_t l = depth(n->l), r = depth(n->r);
    return 1 + (l > r ? l : r);
}

static void test_sorted_insert_stays_shallow(void **state)
{
    (void)state;
    enum { N = 4096 };
    range_node_t *nodes = calloc(N, sizeof *nodes);
    assert_non_null(nodes);
    range_treap_t t;
    range_treap_init(&t, 0x2545f491u);
    for (size_t i = 0; i < N; i++) {
        nodes[i].lo = nodes[i].hi = N - i; /* descending */
        range_treap_insert(&t, &nodes[i]);
    }
    /* expected depth of a random BST of 4096 keys is about 2 ln n = 17;
     * 60 is far above any plausible draw and far below the 4096 of a
     * list */
    assert_true(depth(t.root) < 60);
    assert_int_equal(range_treap_below(&t, 100, true)->lo, 100);
    range_treap_clear(&t, NULL);
    assert_null(t.root);
    assert_int_equal(t.count, 0);
    free(nodes);
}

static size_t released;
static void count_release(range_node_t *n)
{
    released++;
    free(n);
}

static void test_clear_releases_each_node_once(void **state)
{
    (void)state;
    range_treap_t t;
    range_treap_init(&t, 7);
    for (uint64_t k = 0; k < 100; k++) {
        range_node_t *n = calloc(1, sizeof *n);
        assert_non_null(n);
        n->lo = n->hi = (k * 37) % 101; /* 100 distinct keys */
        range_treap_insert(&t, n);
    }
    released = 0;
    range_treap_clear(&t, count_release);
    assert_int_equal(released, 100);
    assert_int_equal(t.count, 0);
    assert_null(range_treap_containing(&t, 37));
}

/* The same seed and the same operations give the same tree: replays are
 * deterministic. */
static void same_shape(const range_node_t *a, const range_node_t *b)
{
    if (!a || !b) {
        assert_true(a == NULL && b == NULL);
        return;
    }
    assert_int_equal(a->lo, b->lo);
    assert_int_equal(a->prio, b->prio);
    same_shape(a->l, b->l);
    same_shape(a->r, b->r);
}

static void test_deterministic_shape(void **state)
{
    (void)state;
    range_node_t a[64], b[64];
    range_treap_t ta, tb;
    range_treap_init(&ta, 99);
    range_treap_init(&tb, 99);
    for (size_t i = 0; i < 64; i++) {
        a[i].lo = a[i].hi = b[i].lo = b[i].hi = (i * 29) % 64;
        range_treap_insert(&ta, &a[i]);
        range_treap_insert(&tb, &b[i]);
    }
    same_shape(ta.root, tb.root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_array),
        cmocka_unit_test(test_sorted_insert_stays_shallow),
        cmocka_unit_test(test_clear_releases_each_node_once),
        cmocka_unit_test(test_deterministic_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
