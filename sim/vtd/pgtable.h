/* pgtable.h — VT-d first- and second-stage page tables in modeled memory.
 *
 * Concepts:
 *   - A page table is a radix tree of 4 KB table pages, 512 entries each,
 *     9 IOVA bits per level (VT-d spec §3.6/3.7, MODEL.md §3.2); level 1
 *     holds 4 KB leaves, level 2 may hold 2 MB leaves, level 3 1 GB leaves.
 *   - Every table page has an address in a modeled physical memory
 *     (physmem_t), allocated when a map needs it and freed the way Linux
 *     frees it: a table page goes only when one unmap covers the whole
 *     range it translates (drivers/iommu/intel/iommu.c dma_pte_free_level,
 *     as summarised in FIGURES.md §1).  So walk addresses and paging-
 *     structure-cache contents evolve as on a real system.
 * Assumptions: one table format serves both stages (entry bits differ on
 * real hardware but not what the model counts).
 * Not modeled: A/D bits, snoop bits, reserved-bit faults.
 */
#ifndef IOSIM_PGTABLE_H
#define IOSIM_PGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_ENTRIES 512u
#define PT_PAGE_SHIFT 12u

/* Modeled physical memory for table pages: a bump allocator with a LIFO
 * free list (Linux's page allocator returns recently freed pages first —
 * an approximation).  The free list has room for every page made
 * (cap >= nfree + live), reserved when a new page is made, so a release
 * never allocates and never loses an address. */
typedef struct physmem {
    uint64_t next;  /* next never-used page address */
    uint64_t *free; /* freed page addresses (stack) */
    size_t nfree, cap;
    uint64_t live, peak;
} physmem_t;

void physmem_init(physmem_t *m, uint64_t base);
void physmem_fini(physmem_t *m);
/* A table page's address in *pa: 0, or -1 out of memory (nothing
 * changed). */
int physmem_alloc(physmem_t *m, uint64_t *pa);
/* pa (from physmem_alloc, live) goes on the free list; cannot fail. */
void physmem_release(physmem_t *m, uint64_t pa);

typedef struct pt_node {
    uint64_t pa;                       /* address of this table page */
    uint32_t used;                     /* valid entries              */
    uint8_t level;                     /* 1 = leaf table (PT)        */
    uint64_t ent[PT_ENTRIES];          /* leaf: phys | PT_LEAF_* bits */
    struct pt_node *child[PT_ENTRIES]; /* non-leaf pointers           */
} pt_node_t;

#define PT_ENT_PRESENT 0x1ull
#define PT_ENT_WRITE 0x2ull
#define PT_ENT_LARGE 0x80ull /* PS bit: 2 MB / 1 GB leaf */

/* ---- leaf-table memo ---------------------------------------------------
 * Walks, maps and unmaps of nearby IOVAs pass the same upper tables again
 * and again.  The memo remembers, per 2 MB region (direct mapped), the
 * level-1 table and the addresses of the tables above it.  A path only
 * disappears when a table page is freed (unmap_level, fini), which bumps
 * pt->gen and so invalidates every entry at once; maps only add tables,
 * which leaves existing paths as they are.  A speed-up of the simulator,
 * nothing more: every result is the one of the full walk. */
#define PT_MEMO_SLOTS 64u                         /* power of two */
#define PT_MEMO_REGION_SHIFT (PT_PAGE_SHIFT + 9u) /* a level-1 table: 2 MB */

typedef struct pt_memo_ent {
    uint64_t gen;         /* == pt->gen while valid (pt->gen starts at 1) */
    uint64_t region;      /* iova >> PT_MEMO_REGION_SHIFT */
    pt_node_t *table;     /* the level-1 table */
    uint64_t upper_pa[4]; /* table_pa of levels 2..5, index level - 2 */
} pt_memo_ent_t;

struct pt_memo {
    pt_memo_ent_t ent[PT_MEMO_SLOTS];
};

typedef struct pgtable {
    pt_node_t *root;
    uint8_t levels;     /* 3, 4 or 5 */
    uint64_t limit;     /* first IOVA beyond the width: 4K << 9 x levels */
    physmem_t *mem;     /* where table pages live */
    uint64_t mapped_4k; /* live mapped bytes / 4 KB */
    uint64_t pages_freed;
    /* An unmap of part of a 2 MB / 1 GB leaf splits it and keeps the rest
     * mapped (a view of what a trace mapped, page by page, that stores
     * large maps as large leaves); off, the whole leaf goes, as Linux's
     * intel_iommu_unmap() does for a modeled domain. */
    bool split_large;
    /* Simulator speed only: remembered paths to level-1 tables, valid
     * while no table page has been freed since (gen). */
    struct pt_memo *memo;
    uint64_t gen;
} pgtable_t;

/* What a walk saw: per level (index level-1) the address of the entry read
 * and the node, from the root down; leaf_level 0 = not mapped. */
typedef struct pt_walk {
    uint64_t entry_pa[5];
    uint64_t table_pa[5];
    uint8_t leaf_level;  /* level the leaf was found at, 0 if fault */
    uint8_t fault_level; /* level whose entry was not present      */
    uint64_t phys;       /* translated address                     */
    bool write;
} pt_walk_t;

int pgtable_init(pgtable_t *pt, uint8_t levels, physmem_t *mem);
void pgtable_fini(pgtable_t *pt);
/* Maps [iova, iova+size) -> phys.  large_ok lets 2 MB/1 GB leaves be used
 * when iova, phys and size allow (Linux does; intel_iommu=sp_off stops
 * it).  Returns table pages allocated, PGTABLE_EMAPPED if a page is
 * already mapped or addresses are beyond the table's width, or
 * PGTABLE_ENOMEM if a table page could not be allocated (a prefix of the
 * range may be mapped either way). */
#define PGTABLE_EMAPPED (-1L)
#define PGTABLE_ENOMEM (-2L)
long pgtable_map(pgtable_t *pt, uint64_t iova, uint64_t phys, uint64_t size,
                 bool write, bool large_ok);
/* Unmaps; returns the number of table pages freed (0 = only leaves
 * changed, so Linux passes IH=1), -1 if iova is beyond the width, or
 * PGTABLE_ENOMEM if splitting a large leaf (split_large) could not
 * allocate its table (the leaves before it are unmapped).
 * freed_pa (may be NULL) receives up to max_freed freed table addresses. */
long pgtable_unmap(pgtable_t *pt, uint64_t iova, uint64_t size,
                   uint64_t *mapped_bytes_removed);
/* Software walk (no caches): fills w; returns true if mapped. */
bool pgtable_walk(const pgtable_t *pt, uint64_t iova, pt_walk_t *w);
/* The memo's entry for iova's 2 MB region, or NULL if it has none (the
 * region's iovas are then below the width: the memo holds only regions
 * whose level-1 table exists). */
static inline pt_memo_ent_t *pgtable_memo_ent(const pgtable_t *pt,
                                              uint64_t iova)
{
    uint64_t region = iova >> PT_MEMO_REGION_SHIFT;
    if (!pt->memo)
        return NULL;
    pt_memo_ent_t *e = &pt->memo->ent[region & (PT_MEMO_SLOTS - 1)];
    return e->gen == pt->gen && e->region == region ? e : NULL;
}
/* pgtable_walk without the table and entry addresses (entry_pa and
 * table_pa are left as they were): leaf_level, fault_level, phys and
 * write are what pgtable_walk gives.  Inline when the memo knows the
 * level-1 table, whose entries are 4 KB leaves. */
bool pgtable_walk_leaf_full(const pgtable_t *pt, uint64_t iova, pt_walk_t *w);
static inline bool pgtable_walk_leaf(const pgtable_t *pt, uint64_t iova,
                                     pt_walk_t *w)
{
    const pt_memo_ent_t *m = pgtable_memo_ent(pt, iova);
    if (!m)
        return pgtable_walk_leaf_full(pt, iova, w);
    uint64_t e = m->table->ent[(iova >> PT_PAGE_SHIFT) & 511u];
    bool present = (e & PT_ENT_PRESENT) != 0;
    w->leaf_level = present;
    w->fault_level = !present;
    w->phys = present ? (e & ~0xfffull) | (iova & 0xfffull) : 0;
    w->write = present && (e & PT_ENT_WRITE);
    return present;
}
/* pgtable_walk's answer alone (no pt_walk_t to fill); inline as above. */
bool pgtable_is_mapped_full(const pgtable_t *pt, uint64_t iova);
static inline bool pgtable_is_mapped(const pgtable_t *pt, uint64_t iova)
{
    const pt_memo_ent_t *m = pgtable_memo_ent(pt, iova);
    if (!m)
        return pgtable_is_mapped_full(pt, iova);
    return (m->table->ent[(iova >> PT_PAGE_SHIFT) & 511u] & PT_ENT_PRESENT) !=
           0;
}
/* Calls fn for every leaf overlapping [lo, hi), in IOVA order; a
 * non-zero return from fn stops the walk and is returned. */
typedef int (*pgtable_leaf_fn)(uint64_t iova, uint64_t phys, uint64_t span,
                               bool write, void *arg);
int pgtable_for_each_leaf(const pgtable_t *pt, uint64_t lo, uint64_t hi,
                          pgtable_leaf_fn fn, void *arg);
/* Bytes a single level's entry spans: 4K << 9*(level-1). */
static inline uint64_t pt_level_span(unsigned level)
{
    return 1ull << (PT_PAGE_SHIFT + 9u * (level - 1u));
}
static inline unsigned pt_index(uint64_t iova, unsigned level)
{
    return (unsigned)(iova >> (PT_PAGE_SHIFT + 9u * (level - 1u))) & 511u;
}

#endif
