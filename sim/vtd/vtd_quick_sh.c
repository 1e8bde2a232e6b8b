/* vtd_quick_sh.c — the quick path of a shadowed IOTLB (a sweep's leader),
 * out of line (vtd_quick.h vtd_translate_quick_sh). */
#include "vtd/vtd_quick.h"

vtd_xlate_brief_t vtd_translate_quick_sh(vtd_t *v, uint64_t key, uint64_t iova,
                                         vtd_quick_run_t *c)
{
    uint32_t tw = vtd_quick_ways(v);
    return tw == 8 ? vtd_quick_body(v, key, iova, 8, c, true)
                   : vtd_quick_body(v, key, iova, tw, c, true);
}
