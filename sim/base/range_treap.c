/* range_treap.c — see range_treap.h. */
#include "base/range_treap.h"

/* xorshift32 with the shifts 13, 17, 5 (Marsaglia 2003). */
static uint32_t next_prio(range_treap_t *t)
{
    uint32_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return t->rng = x;
}

/* A treap's shape is fixed by its keys and priorities, so insertion and
 * removal may work top-down without rotations: the new node takes the
 * place of the first node of lower priority on its search path, that
 * subtree split around its key into its two children; a removed node's
 * children are merged into its place.  Iterative, no recursion on the
 * replay's hot path. */
void range_treap_insert(range_treap_t *t, range_node_t *n)
{
    n->prio = next_prio(t);
    /* an equal priority stays above: the new node goes below it */
    range_node_t **link = &t->root;
    while (*link && (*link)->prio >= n->prio)
        link = n->lo < (*link)->lo ? &(*link)->l : &(*link)->r;
    /* split the subtree at *link: keys below n->lo left, the rest right */
    range_node_t *cur = *link, **lp = &n->l, **rp = &n->r;
    while (cur) {
        if (cur->lo < n->lo) {
            *lp = cur;
            lp = &cur->r;
            cur = cur->r;
        } else {
            *rp = cur;
            rp = &cur->l;
            cur = cur->l;
        }
    }
    *lp = *rp = NULL;
    *link = n;
    t->count++;
}

void range_treap_remove(range_treap_t *t, range_node_t *n)
{
    range_node_t **link = &t->root;
    while (*link && *link != n)
        link = n->lo < (*link)->lo ? &(*link)->l : &(*link)->r;
    if (!*link)
        return; /* not in t */
    /* merge the children: the higher priority rises (the right one on a
     * tie) */
    range_node_t *l = n->l, *r = n->r;
    while (l && r) {
        if (l->prio > r->prio) {
            *link = l;
            link = &l->r;
            l = l->r;
        } else {
            *link = r;
            link = &r->l;
            r = r->l;
        }
    }
    *link = l ? l : r;
    t->count--;
}

static void release_all(range_node_t *n, void (*release)(range_node_t *))
{
    while (n) { /* the right spine iteratively, left subtrees recursively */
        range_node_t *r = n->r;
        release_all(n->l, release);
        if (release)
            release(n);
        n = r;
    }
}

void range_treap_clear(range_treap_t *t, void (*release)(range_node_t *))
{
    release_all(t->root, release);
    t->root = NULL;
    t->count = 0;
}
