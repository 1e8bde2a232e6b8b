/* pgtable.c — radix page tables in modeled memory (see pgtable.h). */
#include "vtd/pgtable.h"

#include <stdlib.h>
#include <string.h>

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

uint64_t physmem_alloc(physmem_t *m)
{
    uint64_t pa;
    if (m->nfree)
        pa = m->free[--m->nfree];
    else {
        pa = m->next;
        m->next += 1ull << PT_PAGE_SHIFT;
    }
    if (++m->live > m->peak)
        m->peak = m->live;
    return pa;
}

void physmem_release(physmem_t *m, uint64_t pa)
{
    if (m->nfree == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        uint64_t *p = realloc(m->free, cap * sizeof *p);
        if (!p) /* leak the address rather than fail an unmap */
            goto done;
        m->free = p;
        m->cap = cap;
    }
    m->free[m->nfree++] = pa;
done:
    m->live--;
}

static pt_node_t *node_new(pgtable_t *pt, uint8_t level)
{
    pt_node_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->level = level;
    n->pa = physmem_alloc(pt->mem);
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

int pgtable_init(pgtable_t *pt, uint8_t levels, physmem_t *mem)
{
    memset(pt, 0, sizeof *pt);
    pt->levels = levels;
    pt->mem = mem;
    pt->root = node_new(pt, levels);
    return pt->root ? 0 : -1;
}

void pgtable_fini(pgtable_t *pt)
{
    if (pt->root)
        node_free_tree(pt, pt->root);
    pt->root = NULL;
}

static inline uint64_t width_limit(const pgtable_t *pt)
{
    return 1ull << (PT_PAGE_SHIFT + 9u * pt->levels);
}

long pgtable_map(pgtable_t *pt, uint64_t iova, uint64_t phys, uint64_t size,
                 bool write, bool large_ok)
{
    if (size == 0)
        return 0;
    if (iova + size > width_limit(pt) || iova + size < iova)
        return -1;
    long allocated = 0;
    uint64_t end = iova + size;
    while (iova < end) {
        pt_node_t *n = pt->root;
        for (;;) {
            unsigned lvl = n->level, idx = pt_index(iova, lvl);
            uint64_t span = pt_level_span(lvl);
            bool can_leaf = lvl == 1 ||
                            (large_ok && lvl <= 3 && !(iova & (span - 1)) &&
                             !(phys & (span - 1)) && end - iova >= span &&
                             !n->child[idx]);
            if (can_leaf) {
                if (n->ent[idx] & PT_ENT_PRESENT)
                    return -1; /* Linux WARNs: already mapped */
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
                return -1; /* a large leaf covers it */
            if (!n->child[idx]) {
                pt_node_t *c = node_new(pt, (uint8_t)(lvl - 1));
                if (!c)
                    return -1;
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

/* Clears [start, end) below n.  A child table whose whole range lies in
 * [start, end) is freed with everything under it, as Linux's
 * dma_pte_free_level() does when the unmap covers it. */
static uint64_t unmap_level(pgtable_t *pt, pt_node_t *n, uint64_t base,
                            uint64_t start, uint64_t end, uint64_t *removed)
{
    uint64_t span = pt_level_span(n->level), freed = 0;
    unsigned first = (unsigned)((start > base ? start - base : 0) / span);
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        uint64_t cs = base + (uint64_t)i * span, ce = cs + span;
        if (cs >= end)
            break;
        if (!(n->ent[i] & PT_ENT_PRESENT))
            continue;
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
            freed += unmap_level(pt, n->child[i], cs, cs, ce, &leaves);
            *removed += leaves;
            freed += node_free_tree(pt, n->child[i]);
            n->child[i] = NULL;
            n->ent[i] = 0;
            n->used--;
        } else {
            freed += unmap_level(pt, n->child[i], cs, start, end, removed);
        }
    }
    return freed;
}

long pgtable_unmap(pgtable_t *pt, uint64_t iova, uint64_t size,
                   uint64_t *mapped_bytes_removed)
{
    if (iova + size > width_limit(pt) || iova + size < iova)
        return -1;
    uint64_t removed = 0;
    uint64_t freed = unmap_level(pt, pt->root, 0, iova, iova + size, &removed);
    pt->mapped_4k -= removed >> PT_PAGE_SHIFT;
    pt->pages_freed += freed;
    if (mapped_bytes_removed)
        *mapped_bytes_removed = removed;
    return (long)freed;
}

bool pgtable_walk(const pgtable_t *pt, uint64_t iova, pt_walk_t *w)
{
    memset(w, 0, sizeof *w);
    if (iova >= width_limit(pt)) {
        w->fault_level = pt->levels;
        return false;
    }
    const pt_node_t *n = pt->root;
    while (n) {
        unsigned lvl = n->level, idx = pt_index(iova, lvl);
        w->table_pa[lvl - 1] = n->pa;
        w->entry_pa[lvl - 1] = n->pa + 8ull * idx;
        uint64_t e = n->ent[idx];
        if (!(e & PT_ENT_PRESENT)) {
            w->fault_level = (uint8_t)lvl;
            return false;
        }
        if (!n->child[idx]) {
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
    return pt->root ? each_leaf(pt->root, 0, lo, hi, fn, arg) : 0;
}
