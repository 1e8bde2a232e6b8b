/* xlate_log.c — one CSV row per device translation (iosim --xlate-log).
 *
 * Concepts:
 *   - A row per 4 KB page of every device access the sim translates, in
 *     the order the sim translates them: the DMA records of the trace and
 *     the accesses the access model synthesizes at unmap.  Columns:
 *     label (the sim), record (number from 0, FORMAT.md §4, in trace order, of
 * the record that caused it: the DMA, or the UNMAP of a synthesized access;
 * rows follow processing order, which differs where records of one timestamp
 * were reordered, reorder.h), t_ns (its time), device (bus:dev.fn), pasid,
 * domain (as the record names it; 0 = the device's), iova (of the 4 KB page, as
 * the device used it: the model's IOVA under a reallocating policy), result,
 * mem_reads, latency_ns.
 *   - result: fault (not mapped), devtlb (device-TLB hit), iotlb (IOTLB
 *     hit), walk (a table walk: mem_reads references), none (no
 *     translation: a passthrough policy without a host stage).
 *   - The whole trace is logged, whatever sim.window_only says (as the
 *     epoch series).  Rows go to a stream of the caller's (one per sim;
 *     with --threads iosim gives each sim a temporary file of its own).
 * Assumptions: the caller's stream is buffered; a row costs an fprintf,
 *   so a log of a long trace is large and slows the run (a tool for
 *   explaining a few thousand requests, not for every run).
 * Not modeled: nothing; this is output.
 */
#include "system/sim.h"

#include <stdio.h>

int iosim_sim_set_xlate_log(iosim_sim_t *s, FILE *out, iosim_err_t *err)
{
    if (s->seen_any)
        return iosim_err_set(err,
                             "%s: the translation log must be set "
                             "before the first record",
                             s->label);
    if (!out)
        return iosim_err_set(err, "%s: the translation log needs a stream",
                             s->label);
    s->xlate_log = out;
    return 0;
}

void iosim_xlate_log_csv_header(FILE *out)
{
    fprintf(out, "label,record,t_ns,device,pasid,domain,iova,result,"
                 "mem_reads,latency_ns\n");
}

void sim_xlate_log_row(iosim_sim_t *s, uint16_t sid, uint32_t pasid,
                       uint16_t did, uint64_t iova, const vtd_xlate_result_t *r)
{
    const char *result = r->fault        ? "fault"
                         : r->devtlb_hit ? "devtlb"
                         : r->iotlb_hit  ? "iotlb"
                         : r->mem_reads  ? "walk"
                                         : "none";
    fprintf(s->xlate_log, "%s,%llu,%llu,%02x:%02x.%x,%u,%u,0x%llx,%s,%u,%.1f\n",
            s->label, (unsigned long long)s->record_no,
            (unsigned long long)s->now, (unsigned)(sid >> 8),
            (unsigned)((sid >> 3) & 0x1f), (unsigned)(sid & 7), (unsigned)pasid,
            (unsigned)did, (unsigned long long)(iova & ~0xfffull), result,
            r->mem_reads, r->latency_ns);
}
