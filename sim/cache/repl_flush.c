/* repl_flush.c — the "flush" replacement policy: a fill into a full set
 * empties the whole cache first.
 *
 * Concepts: QEMU's intel-iommu keeps its IOTLB in a hash table of at most
 *   VTD_IOTLB_MAX_SIZE = 1024 entries; vtd_update_iotlb() resets the whole
 *   table when an insertion finds it full (hw/i386/intel_iommu.c,
 *   trace event vtd_iotlb_reset "iotlb exceeds size limit").  With one set
 *   of 1024 ways the generic cache does the same.
 * Assumptions: with several sets, a full *set* triggers the flush (the
 *   table QEMU models has no sets); the flush counts as one eviction in
 *   the cache's statistics, the other lines dropped are not counted.
 * Not modeled: hash-table cost of the reset.
 */
#include "cache/cache.h"

static uint32_t flush_victim(cache_t *c, uint32_t set)
{
    cache_flush_except(c, set, 0); /* way 0 is overwritten by the fill */
    return 0;
}

const cache_repl_ops_t cache_repl_flush = {
    "flush",
    CACHE_REPL_HOOKS,
    cache_nop_touch,
    flush_victim,
    "a fill into a full set empties the cache first (QEMU's IOTLB, "
    "vtd_update_iotlb)",
    {0}}; /* no knobs: an empty table, no check, nothing implied */
