/* access_dump.c — one CSV row per 4 KB page of every device access, with
 * who made it and which mapping it fell in (iosim --dump-accesses).
 *
 * Concepts:
 *   - The accesses of a trace's DMA records (origin `trace`: a QEMU-merged
 *     capture's real device accesses) and those a device model emits
 *     (origin: the model's name, and `what`: the model's name for the
 *     access, e.g. `rx.avail.idx` or `tx.buf`; empty where the model gives
 *     none), in the order the sim translates them.  Replaying a capture
 *     and the same capture without its DMA records through a model gives
 *     two dumps of the same device, side by side (scripts/access-diff).
 *   - Columns: label, record (number from 0 in trace order of the record
 *     that caused it: the DMA record, or the record the model was serving),
 *     t_ns, origin, what, dir (read / write: the device reads or writes
 *     memory), iova and size (of the whole access, in the trace's IOVAs),
 *     page (the 4 KB page of this row, trace IOVA), result (as
 *     --xlate-log: fault, devtlb, iotlb, walk, none), and the MAP record
 *     whose buffer holds the page: map (its number; -1 = mapped before the
 *     trace began, or not mapped), map_t_ns (its time: with map_iova it
 *     names the buffer in a dump of the same trace without its DMA
 *     records, whose record numbers differ), map_iova, map_size.
 *   - One row per translation: the rows of a sim are its iotlb.lookups
 *     (with the device-TLB off), the walk and fault rows its iotlb.misses,
 *     over the whole trace whatever sim.window_only says.
 * Assumptions: the caller's stream is buffered; a row costs an fprintf
 *   and the page index costs a table entry per mapped 4 KB page (a tool
 *   for explaining a capture, not for every run).
 * Not modeled: nothing; this is output.
 */
#include <stdlib.h>

#include "base/u64map.h"
#include "base/vec.h"
#include "dev/dev.h"
#include "system/sim.h"

typedef struct dump_map {
    uint64_t record, t, iova, size;
} dump_map_t;

struct sim_access_dump {
    FILE *out;
    u64map_t pages; /* trace IOVA page -> index in maps */
    dump_map_t *maps;
    size_t n, cap;
};

int iosim_sim_set_access_dump(iosim_sim_t *s, FILE *out, iosim_err_t *err)
{
    if (s->seen_any)
        return iosim_err_set(err,
                             "%s: the access dump must be set before the "
                             "first record",
                             s->label);
    if (!out)
        return iosim_err_set(err, "%s: the access dump needs a stream",
                             s->label);
    struct sim_access_dump *d = calloc(1, sizeof *d);
    if (!d || u64map_init(&d->pages, 1024) < 0) {
        free(d);
        return iosim_err_set(err, "out of memory");
    }
    d->out = out;
    sim_dump_free(s->dump);
    s->dump = d;
    return 0;
}

void iosim_access_dump_csv_header(FILE *out)
{
    fprintf(out, "label,record,t_ns,origin,what,dir,iova,size,page,result,"
                 "map,map_t_ns,map_iova,map_size\n");
}

void sim_dump_free(struct sim_access_dump *d)
{
    if (!d)
        return;
    u64map_fini(&d->pages);
    free(d->maps);
    free(d);
}

int sim_dump_map(iosim_sim_t *s, const iosim_rec_t *r, iosim_err_t *err)
{
    struct sim_access_dump *d = s->dump;
    if (vec_reserve(&d->maps, &d->cap, d->n + 1, 1024))
        return iosim_err_set(err, "out of memory (--dump-accesses)");
    d->maps[d->n] = (dump_map_t){
        .record = s->record_no, .t = r->t, .iova = r->iova, .size = r->size};
    uint64_t end = r->iova + r->size < r->iova ? UINT64_MAX : r->iova + r->size;
    for (uint64_t a = r->iova & ~0xfffull;
         a < end && a >= (r->iova & ~0xfffull); a += 4096)
        if (u64map_put(&d->pages, a >> 12, d->n) < 0)
            return iosim_err_set(err, "out of memory (--dump-accesses)");
    d->n++;
    return 0;
}

void sim_dump_unmap(iosim_sim_t *s, const iosim_rec_t *r)
{
    struct sim_access_dump *d = s->dump;
    uint64_t end = r->iova + r->size < r->iova ? UINT64_MAX : r->iova + r->size;
    for (uint64_t a = r->iova & ~0xfffull;
         a < end && a >= (r->iova & ~0xfffull); a += 4096)
        u64map_del(&d->pages, a >> 12);
}

void sim_dump_row(iosim_sim_t *s, uint64_t iova, uint64_t size, bool write,
                  uint64_t page, const vtd_xlate_result_t *r)
{
    struct sim_access_dump *d = s->dump;
    const char *result = r->fault        ? "fault"
                         : r->devtlb_hit ? "devtlb"
                         : r->iotlb_hit  ? "iotlb"
                         : r->mem_reads  ? "walk"
                                         : "none";
    const char *origin = "trace", *what = "";
    if (s->dev_emitting) {
        origin = s->dev->name;
        what = s->dev_what ? s->dev_what : "";
    }
    uint64_t i;
    fprintf(d->out, "%s,%llu,%llu,%s,%s,%s,0x%llx,%llu,0x%llx,%s,", s->label,
            (unsigned long long)s->record_no, (unsigned long long)s->now,
            origin, what, write ? "write" : "read", (unsigned long long)iova,
            (unsigned long long)size, (unsigned long long)(page & ~0xfffull),
            result);
    if (u64map_get(&d->pages, page >> 12, &i))
        fprintf(d->out, "%llu,%llu,0x%llx,%llu\n",
                (unsigned long long)d->maps[i].record,
                (unsigned long long)d->maps[i].t,
                (unsigned long long)d->maps[i].iova,
                (unsigned long long)d->maps[i].size);
    else
        fprintf(d->out, "-1,,,\n");
}
