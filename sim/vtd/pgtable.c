/* pgtable.c — radix page tables in modeled memory (see pgtable.h). */
#include "vtd/pgtable.h"

#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

void physmem_init(physmem_t *m, uint64_t base)
{
    memset(m, 0, sizeof *m);
    m->next = base;
}

void physmem_fini(physmem_t *m)
{
    free(m->free);
    memset(m, 0, sizeof *m);
}

int physmem_alloc(physmem_t *m, uint64_t *pa)
{
    if (m->nfree)
        *pa = m->free[--m->nfree];
    else {
        /* a new page: room for it on the free list now, so that its
         * release cannot fail (the list holds every page made) */
        if (vec_reserve(&m->free, &m->cap, m->live + 1, 256))
            return -1;
        *pa = m->next;
        m->next += 1ull << PT_PAGE_SHIFT;
    }
    if (++m->live > m->peak)
        m->peak = m->live;
    return 0;
}

void physmem_release(physmem_t *m, uint64_t pa)
{
    /* nfree + live pages were made and cap holds them all (alloc) */
    m->free[m->nfree++] = pa;
    m->live--;
}

static pt_node_t *node_new(pgtable_t *pt, uint8_t level)
{
    pt_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->level = level;
    if (physmem_alloc(pt->mem, &n->pa)) {
        free(n);
        return NULL;
    }
    return n;
}

static uint64_t node_free_tree(pgtable_t *pt, pt_node_t *n)
{
    uint64_t freed = 1;
    if (n->level > 1)
        for (unsigned i = 0; i < PT_ENTRIES; i++)
            if (n->child[i])
                freed += node_free_tree(pt, n->child[i]);
    physmem_release(pt->mem, n->pa);
    free(n);
    return freed;
}

/* ---- leaf-table memo (pgtable.h) ---------------------------------- */

/* leaf_table() when the memo does not know the region: walks down and
 * remembers the path. */
static pt_node_t *leaf_table_fill(const pgtable_t *pt, uint64_t iova,
                                  pt_memo_ent_t *e, const uint64_t **upper_pa)
{
    uint64_t region = iova >> PT_MEMO_REGION_SHIFT;
    uint64_t pa[4] = {0};
    pt_node_t *n = pt->root;
    while (n->level > 1) {
        pa[n->level - 2] = n->pa;
        n = n->child[pt_index(iova, n->level)];
        if (!n)
            return NULL;
    }
    e->gen = pt->gen;
    e->region = region;
    e->table = n;
    memcpy(e->upper_pa, pa, sizeof pa);
    *upper_pa = e->upper_pa;
    return n;
}

/* The level-1 table translating iova (< width), or NULL if the path to it
 * is not all there; *upper_pa gets the addresses of the tables above. */
static inline pt_node_t *leaf_table(const pgtable_t *pt, uint64_t iova,
                                    const uint64_t **upper_pa)
{
    pt_memo_ent_t *e = pgtable_memo_ent(pt, iova);
    if (e) {
        *upper_pa = e->upper_pa;
        return e->table;
    }
    uint64_t region = iova >> PT_MEMO_REGION_SHIFT;
    return leaf_table_fill(
        pt, iova, &pt->memo->ent[region & (PT_MEMO_SLOTS - 1)], upper_pa);
}

static inline bool same_region(uint64_t a, uint64_t end)
{
    return a < end &&
           (a >> PT_MEMO_REGION_SHIFT) == ((end - 1) >> PT_MEMO_REGION_SHIFT);
}

int pgtable_init(pgtable_t *pt, uint8_t levels, physmem_t *mem)
{
    memset(pt, 0, sizeof *pt);
    pt->levels = levels;
    pt->limit = 1ull << (PT_PAGE_SHIFT + 9u * levels);
    pt->mem = mem;
    pt->gen = 1;
    pt->memo = calloc(1, sizeof *pt->memo);
    if (!pt->memo)
        return -1;
    pt->root = node_new(pt, levels);
    if (!pt->root) {
        free(pt->memo);
        pt->memo = NULL;
        return -1;
    }
    return 0;
}

void pgtable_fini(pgtable_t *pt)
{
    if (pt->root)
        node_free_tree(pt, pt->root);
    pt->root = NULL;
    free(pt->memo);
    pt->memo = NULL;
    pt->gen++;
}

static inline uint64_t width_limit(const pgtable_t *pt) { return pt->limit; }

long pgtable_map(pgtable_t *pt, uint64_t iova, uint64_t phys, uint64_t size,
                 bool write, bool large_ok)
{
    if (size == 0)
        return 0;
    if (iova + size > width_limit(pt) || iova + size < iova)
        return PGTABLE_EMAPPED;
    long allocated = 0;
    uint64_t end = iova + size;
    const uint64_t *upper;
    pt_node_t *lt;
    if (pt->memo && same_region(iova, end) &&
        (lt = leaf_table(pt, iova, &upper)) != NULL) {
        /* Inside one existing level-1 table: the loop below would only
         * set 4 KB leaves there (no large leaf fits under a table). */
        for (; iova < end; iova += 4096, phys += 4096) {
            unsigned idx = pt_index(iova, 1);
            if (lt->ent[idx] & PT_ENT_PRESENT)
                return PGTABLE_EMAPPED;
            lt->ent[idx] = (phys & ~0xfffull) | PT_ENT_PRESENT |
                           (write ? PT_ENT_WRITE : 0);
            lt->used++;
            pt->mapped_4k++;
        }
        return 0;
    }
    while (iova < end) {
        pt_node_t *n = pt->root;
        for (;;) {
            unsigned lvl = n->level, idx = pt_index(iova, lvl);
            uint64_t span = pt_level_span(lvl);
            bool can_leaf =
                lvl == 1 ||
                (large_ok && lvl <= 3 && !(iova & (span - 1)) &&
                 !(phys & (span - 1)) && end - iova >= span && !n->child[idx]);
            if (can_leaf) {
                if (n->ent[idx] & PT_ENT_PRESENT)
                    return PGTABLE_EMAPPED; /* Linux WARNs: already mapped */
                n->ent[idx] = (phys & ~0xfffull) | PT_ENT_PRESENT |
                              (write ? PT_ENT_WRITE : 0) |
                              (lvl > 1 ? PT_ENT_LARGE : 0);
                n->used++;
                pt->mapped_4k += span >> PT_PAGE_SHIFT;
                iova += span;
                phys += span;
                break;
            }
            if (n->ent[idx] & PT_ENT_PRESENT && !n->child[idx])
                return PGTABLE_EMAPPED; /* a large leaf covers it */
            if (!n->child[idx]) {
                pt_node_t *c = node_new(pt, (uint8_t)(lvl - 1));
                if (!c)
                    return PGTABLE_ENOMEM;
                n->child[idx] = c;
                n->ent[idx] = c->pa | PT_ENT_PRESENT | PT_ENT_WRITE;
                n->used++;
                allocated++;
            }
            n = n->child[idx];
        }
    }
    return allocated;
}

/* Replaces n's large leaf i by a table of 512 leaves one level down with
 * the same addresses and rights (large leaves again above level 1): 0, or
 * -1 out of memory (nothing changed). */
static int split_leaf(pgtable_t *pt, pt_node_t *n, unsigned i)
{
    pt_node_t *c = node_new(pt, (uint8_t)(n->level - 1));
    if (!c)
        return -1;
    uint64_t sub = pt_level_span(c->level);
    uint64_t flags = n->ent[i] & (PT_ENT_PRESENT | PT_ENT_WRITE);
    uint64_t phys = n->ent[i] & ~0xfffull & ~PT_ENT_LARGE;
    for (unsigned k = 0; k < PT_ENTRIES; k++)
        c->ent[k] = (phys + (uint64_t)k * sub) | flags |
                    (c->level > 1 ? PT_ENT_LARGE : 0);
    c->used = PT_ENTRIES;
    n->child[i] = c;
    n->ent[i] = c->pa | PT_ENT_PRESENT | PT_ENT_WRITE;
    return 0;
}

/* Clears [start, end) below n.  A child table whose whole range lies in
 * [start, end) is freed with everything under it, as Linux's
 * dma_pte_free_level() does when the unmap covers it. */
static uint64_t unmap_level(pgtable_t *pt, pt_node_t *n, uint64_t base,
                            uint64_t start, uint64_t end, uint64_t *removed,
                            bool *enomem)
{
    uint64_t span = pt_level_span(n->level), freed = 0;
    unsigned first = (unsigned)((start > base ? start - base : 0) / span);
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t cs = base + (uint64_t)i * span, ce = cs + span;
        if (cs >= end)
            break;
        if (!(n->ent[i] & PT_ENT_PRESENT))
            continue;
        if (!n->child[i] && pt->split_large && n->level > 1 &&
            (cs < start || end < ce) && split_leaf(pt, n, i)) {
            *enomem = true;
            return freed;
        }
        if (!n->child[i]) { /* leaf (4 KB, 2 MB or 1 GB) */
            n->ent[i] = 0;
            n->used--;
            *removed += span;
            continue;
        }
        if (start <= cs && ce <= end) {
            /* Count the leaves removed with the subtree.  The recursive
             * call already frees the fully covered tables below the child
             * (all of them), so its count is added before freeing what is
             * left (the child itself). */
            uint64_t leaves = 0;
            freed += unmap_level(pt, n->child[i], cs, cs, ce, &leaves, enomem);
            *removed += leaves;
            freed += node_free_tree(pt, n->child[i]);
            n->child[i] = NULL;
            n->ent[i] = 0;
            n->used--;
        } else {
            freed +=
                unmap_level(pt, n->child[i], cs, start, end, removed, enomem);
            if (*enomem)
                return freed;
        }
    }
    return freed;
}

long pgtable_unmap(pgtable_t *pt, uint64_t iova, uint64_t size,
                   uint64_t *mapped_bytes_removed)
{
    if (iova + size > width_limit(pt) || iova + size < iova)
        return -1;
    uint64_t removed = 0, freed = 0, end = iova + size;
    bool enomem = false;
    const uint64_t *upper;
    pt_node_t *lt;
    if (pt->memo && same_region(iova, end) &&
        size < (1ull << PT_MEMO_REGION_SHIFT) &&
        (lt = leaf_table(pt, iova, &upper)) != NULL) {
        /* Less than the whole level-1 table: unmap_level would free no
         * table and only clear these leaves. */
        uint64_t base = iova & ~((1ull << PT_MEMO_REGION_SHIFT) - 1);
        for (unsigned i = (unsigned)((iova - base) >> PT_PAGE_SHIFT);
             i < PT_ENTRIES; i++) {
            if (base + ((uint64_t)i << PT_PAGE_SHIFT) >= end)
                break;
            if (!(lt->ent[i] & PT_ENT_PRESENT))
                continue;
            lt->ent[i] = 0;
            lt->used--;
            removed += 4096;
        }
    } else {
        freed = unmap_level(pt, pt->root, 0, iova, end, &removed, &enomem);
        if (freed)
            pt->gen++; /* table pages went: forget every memo path */
    }
    pt->mapped_4k -= removed >> PT_PAGE_SHIFT;
    pt->pages_freed += freed;
    if (mapped_bytes_removed)
        *mapped_bytes_removed = removed;
    return enomem ? PGTABLE_ENOMEM : (long)freed;
}

/* Field by field: GCC makes `rep stos` of a memset of this size, whose
 * start-up cost was the largest single cost of a walk. */
static inline void walk_clear(pt_walk_t *w)
{
    w->entry_pa[0] = w->entry_pa[1] = w->entry_pa[2] = w->entry_pa[3] =
        w->entry_pa[4] = 0;
    w->table_pa[0] = w->table_pa[1] = w->table_pa[2] = w->table_pa[3] =
        w->table_pa[4] = 0;
    w->leaf_level = 0;
    w->fault_level = 0;
    w->phys = 0;
    w->write = false;
}

/* The walk; with paths false the table and entry addresses are left
 * unset (callers that never read them skip the stores: pgtable_walk_leaf). */
static inline bool walk(const pgtable_t *pt, uint64_t iova, pt_walk_t *w,
                        bool paths)
{
    if (paths) {
        walk_clear(w);
    } else {
        w->leaf_level = 0;
        w->fault_level = 0;
        w->phys = 0;
        w->write = false;
    }
    if (iova >= width_limit(pt)) {
        w->fault_level = pt->levels;
        return false;
    }
    const pt_node_t *n = pt->root;
    const uint64_t *upper;
    const pt_node_t *lt = n && pt->memo ? leaf_table(pt, iova, &upper) : NULL;
    if (lt) { /* what the walk down to the level-1 table would record */
        for (unsigned lvl = 2; paths && lvl <= pt->levels; lvl++) {
            w->table_pa[lvl - 1] = upper[lvl - 2];
            w->entry_pa[lvl - 1] = upper[lvl - 2] + 8ull * pt_index(iova, lvl);
        }
        n = lt;
    }
    while (n) {
        unsigned lvl = n->level, idx = pt_index(iova, lvl);
        if (paths) {
            w->table_pa[lvl - 1] = n->pa;
            w->entry_pa[lvl - 1] = n->pa + 8ull * idx;
        }
        uint64_t e = n->ent[idx];
        if (!(e & PT_ENT_PRESENT)) {
            w->fault_level = (uint8_t)lvl;
            return false;
        }
        if (lvl == 1 || !n->child[idx]) { /* level 1 holds only leaves */
            uint64_t span = pt_level_span(lvl);
            w->leaf_level = (uint8_t)lvl;
            w->phys = (e & ~0xfffull & ~(span - 1) & ~PT_ENT_LARGE) |
                      (iova & (span - 1));
            w->write = (e & PT_ENT_WRITE) != 0;
            return true;
        }
        n = n->child[idx];
    }
    return false;
}

bool pgtable_walk(const pgtable_t *pt, uint64_t iova, pt_walk_t *w)
{
    return walk(pt, iova, w, true);
}

bool pgtable_walk_leaf_full(const pgtable_t *pt, uint64_t iova, pt_walk_t *w)
{
    return walk(pt, iova, w, false);
}

bool pgtable_is_mapped_full(const pgtable_t *pt, uint64_t iova)
{
    if (iova >= width_limit(pt) || !pt->root)
        return false;
    const uint64_t *upper;
    const pt_node_t *n = pt->memo ? leaf_table(pt, iova, &upper) : NULL;
    if (n) /* level-1 entries are leaves */
        return (n->ent[pt_index(iova, 1)] & PT_ENT_PRESENT) != 0;
    for (n = pt->root; n;) {
        unsigned idx = pt_index(iova, n->level);
        if (!(n->ent[idx] & PT_ENT_PRESENT))
            return false;
        if (!n->child[idx])
            return true;
        n = n->child[idx];
    }
    return false;
}

static int each_leaf(const pt_node_t *n, uint64_t base, uint64_t lo,
                     uint64_t hi, pgtable_leaf_fn fn, void *arg)
{
    uint64_t span = pt_level_span(n->level);
    unsigned first = (unsigned)(lo > base ? (lo - base) / span : 0);
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t cs = base + (uint64_t)i * span;
        if (cs >= hi)
            break;
        if (!(n->ent[i] & PT_ENT_PRESENT))
            continue;
        if (n->child[i]) {
            if (each_leaf(n->child[i], cs, lo, hi, fn, arg))
                return 1;
        } else if (fn(cs, (n->ent[i] & ~0xfffull) & ~(span - 1), span,
                      (n->ent[i] & PT_ENT_WRITE) != 0, arg)) {
            return 1;
        }
    }
    return 0;
}

int pgtable_for_each_leaf(const pgtable_t *pt, uint64_t lo, uint64_t hi,
                          pgtable_leaf_fn fn, void *arg)
{
    if (!pt->root)
        return 0;
    const uint64_t *upper;
    const pt_node_t *lt;
    if (pt->memo && lo < width_limit(pt) && same_region(lo, hi) &&
        (lt = leaf_table(pt, lo, &upper)) != NULL) {
        /* each_leaf would only descend into this level-1 table */
        uint64_t base = lo & ~((1ull << PT_MEMO_REGION_SHIFT) - 1);
        for (unsigned i = (unsigned)((lo - base) >> PT_PAGE_SHIFT);
             i < PT_ENTRIES; i++) {
            uint64_t cs = base + ((uint64_t)i << PT_PAGE_SHIFT);
            if (cs >= hi)
                break;
            if (!(lt->ent[i] & PT_ENT_PRESENT))
                continue;
            if (fn(cs, lt->ent[i] & ~0xfffull, 4096,
                   (lt->ent[i] & PT_ENT_WRITE) != 0, arg))
                return 1;
        }
        return 0;
    }
    return each_leaf(pt->root, 0, lo, hi, fn, arg);
}
