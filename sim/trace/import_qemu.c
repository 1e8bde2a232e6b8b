/* import_qemu.c — QEMU `-trace vtd_*` log + the guest's ftrace -> one
 * time-ordered trace whose DMA records are the device's real accesses.
 *
 * Concepts:
 *   - QEMU log backend lines: `[<tid>@<sec>.<usec>:]<event> <args>`
 *     (MODEL.md §4.4, [SRC 18]); the timestamp is present only with
 *     `-msg timestamp=on`.
 *   - vtd_dmar_translate `dev BB:DD.FF iova 0x.. -> gpa 0x.. mask 0x..`
 *     is one device DMA translation -> one DMA record: size = mask + 1
 *     (4096 for mask 0xfff), device from BB:DD.FF, direction unknown in
 *     the event -> IOSIM_DMA_WRITE (documented choice), domain stamped by
 *     the sink like the guest's map/unmap.
 *   - vtd_inv_desc `... type T high <qw1> low <qw0>` with T != wait is the
 *     QEMU side of one guest qi_submit: QEMU processes the queue inside
 *     the guest's IQT write, and the guest traces qi_submit under the QI
 *     lock (MODEL.md §1.7), so both streams list the non-wait descriptors
 *     in the same order.  These are the *anchors* of the alignment.
 *
 * Alignment rule (the two clocks differ and the strict capture has no
 * QEMU timestamps):
 *   1. Sync (pass 1): the guest's first K = min(64, n) non-wait
 *      descriptors are searched in the QEMU descriptor sequence (decoded
 *      fields compared; descriptors of two CPUs can trade places in the
 *      guest's trace, so the K QEMU descriptors from an offset are
 *      matched the way the merge matches them: each with the earliest
 *      identical one among the guest's first QEMU_REORDER_WINDOW not yet
 *      matched).  Candidate offsets o must also leave room for all
 *      the guest's descriptors (o + n_guest <= n_qemu).  When several
 *      offsets match (lazy mode repeats the same DSI/devTLB pair), the
 *      one needing the fewest re-ordered matches wins, then the one
 *      whose inter-descriptor gaps best fit the guest's (sum of
 *      |dt_qemu - dt_guest| over the K descriptors) if QEMU has
 *      timestamps, else the earliest.
 *   2. Merge (pass 2): anchor k of QEMU is emitted together with guest
 *      descriptor k, after every guest record before it.  QEMU DMAs
 *      before the first anchor are dropped.  Two CPUs' descriptors with
 *      one time stamp can be listed by the guest in another order than
 *      QEMU's: a QEMU descriptor matches the earliest identical one of
 *      the guest's next QEMU_REORDER_WINDOW pending descriptors (the ones
 *      it overtakes are emitted when their own QEMU copy comes), counted
 *      in qemu_reordered; none of them is an error naming the QEMU line
 *      and the guest line of the first pending descriptor.
 *   3. Between anchors, guest records are emitted lazily: a DMA of
 *      (iova page x, gpa page p) is emitted at once if x is currently
 *      mapped to p; otherwise, if a guest MAP ahead (before the next
 *      anchor) maps x to p, the guest records up to that MAP are emitted
 *      first ("the map of an IOVA precedes its first translation"); else
 *      the DMA is emitted at once (an IOVA mapped before the capture
 *      started, e.g. the virtqueue rings; counted as unmapped; unless
 *      the guest trace has mapped that page before, an explicit MAP of
 *      it to QEMU's gpa is emitted first, and an UNMAP of it just before
 *      any later guest MAP of the page).  An UNMAP
 *      is therefore emitted only after every DMA that preceded the next
 *      DMA needing a later MAP ("unmap follows the last translation").
 *   4. After the last anchor, QEMU DMAs are kept until the next QEMU
 *      descriptor (necessarily after the guest stopped tracing) or, with
 *      timestamps, until the guest's last record time; the rest dropped.
 *   5. DMA time: without QEMU timestamps, the time of the last emitted
 *      guest record; with them, qemu_time + (guest - qemu time of the
 *      last anchor), clamped between the last emitted and the next guest
 *      record, so the output stays time-ordered.
 * Assumptions:
 *   - The QEMU log is a file (read twice); the guest file too.
 *   - One anchor interval holds at most QEMU_INTERVAL_MAX guest records;
 *     a longer interval is processed in windows of that size (rule 3
 *     then only looks ahead within the window).
 *   - A MAP bigger than QEMU_MAP_INDEX_PAGES pages is indexed by its
 *     first QEMU_MAP_INDEX_PAGES pages only.
 *   - A translation covers at most a 1 GB page (mask 0x3fffffff, VT-d's
 *     largest); a larger mask is an error, and so is a guest MAP of more
 *     than 1 GB (its pages are tracked one by one).  A guest UNMAP may be
 *     of any size: its work is bounded by the pages mapped.
 *   - References (trace metadata ref.*, whole trace, not with --window):
 *     QEMU's own IOTLB outcome of each DMA written (the vtd_iotlb_page_hit
 *     or vtd_iotlb_page_update line just before its vtd_dmar_translate)
 *     -> ref.iotlb.{lookups,hits,misses}, only if every DMA has one; the tail
 * writes the guest made before its descriptors (vtd_inv_qi_tail followed by an
 * anchor, each a VM exit) -> ref.iq.submits and ref.hv.vmexits.  The header is
 *     written at the end (import_sink_defer_header).
 *   - Submissions of several descriptors: Linux 6.12 batches a flush's
 *     descriptors (drivers/iommu/intel/cache.c, qi_batch: an unmap's PSI
 *     and devTLB descriptor) into one qi_submit_sync, i.e. one tail write
 *     followed by all of them and one wait; 6.1 wrote the tail once per
 *     descriptor.  The guest traces one qi_submit per descriptor either
 *     way and QEMU processes them in queue order, so every descriptor is
 *     still an anchor; a tail write is counted once, at the first anchor
 *     after it, whatever number of descriptors follow (the 6.12 Redis
 *     capture: 6646 qi_submit, 4423 tail writes = maps + unmaps).
 * Not modeled: QEMU's own invalidation processing (the guest's qi_submit
 *   is the ground truth), DMA direction and access size within the page.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "base/vec.h"
#include "trace/import.h"

#define QEMU_SYNC_K 64u
/* guest descriptors a QEMU descriptor may overtake (see the merge) */
#define QEMU_REORDER_WINDOW 256u
#define QEMU_INTERVAL_MAX 65536u
/* slots of the MAP index: it is cut (merge_full) at half of them */
#define QEMU_INDEX_SLOTS (4 * QEMU_INTERVAL_MAX)
#define QEMU_MAP_INDEX_PAGES 64u
#define QEMU_MAX_CANDIDATES 65536u
#define PAGE_SHIFT 12
#define QEMU_MASK_MAX 0x3fffffffull /* VT-d's largest page: 1 GB */
/* A guest map the merge tracks page by page (about 100 bytes and 100 ns
 * a page): at most VT-d's largest page, 1 GB.  The captures map at most
 * 8 KB at a time (NIC buffers); a bigger map (VFIO in the guest mapping
 * several hugepages at once) is refused, not half tracked. */
#define QEMU_MAP_MAX_PAGES ((QEMU_MASK_MAX + 1) >> PAGE_SHIFT)

/* ------------------------------------------------------------------ */
/* QEMU line parsing                                                   */
/* ------------------------------------------------------------------ */
/* QL_IOTLB_HIT / QL_IOTLB_MISS: QEMU's own IOTLB outcome of the next
 * translation (vtd_do_iommu_translate traces it before vtd_iommu_translate
 * traces vtd_dmar_translate) */
typedef enum {
    QL_OTHER,
    QL_DMA,
    QL_DESC,
    QL_WAIT,
    QL_IOTLB_HIT,
    QL_IOTLB_MISS,
    QL_QI_TAIL /* the guest wrote the queue's tail register (a VM exit) */
} qline_kind_t;

typedef struct qline {
    qline_kind_t kind;
    bool has_time;
    uint64_t t_ns;
    iosim_rec_t rec; /* QL_DMA: DMA record; QL_DESC: decoded INVAL */
} qline_t;

/* Parses one QEMU log line; returns 0, or -1 with a reason in why. */
static int qemu_parse_line(const char *line, qline_t *ql, char *why, size_t n)
{
    memset(ql, 0, sizeof *ql);
    const char *s = line;
    /* optional "<tid>@<sec>.<usec>:" */
    const char *at = s;
    while (isdigit((unsigned char)*at))
        at++;
    if (at > s && *at == '@') {
        uint64_t t;
        size_t tl = import_parse_time_ns(at + 1, &t);
        if (tl && at[1 + tl] == ':') {
            ql->has_time = true;
            ql->t_ns = t;
            s = at + 1 + tl + 1;
        }
    }
    if (!strncmp(s, "vtd_dmar_translate ", 19)) {
        unsigned bus, dev, fn;
        unsigned long long iova, gpa, mask;
        if (sscanf(s + 19, "dev %x:%x.%x iova 0x%llx -> gpa 0x%llx mask 0x%llx",
                   &bus, &dev, &fn, &iova, &gpa, &mask) != 6 ||
            bus > 0xff || dev > 0x1f || fn > 7) {
            snprintf(why, n,
                     "vtd_dmar_translate: expected 'dev BB:DD.F "
                     "iova 0x.. -> gpa 0x.. mask 0x..'");
            return -1;
        }
        /* the mask of one translation: at most a 1 GB page (the merge
         * tracks pre-capture mappings page by page) */
        if (mask > QEMU_MASK_MAX) {
            snprintf(why, n,
                     "vtd_dmar_translate: mask 0x%llx is larger "
                     "than a 1 GB page",
                     mask);
            return -1;
        }
        ql->kind = QL_DMA;
        iosim_rec_t *r = &ql->rec;
        r->kind = IOSIM_REC_DMA;
        r->iova = iova;
        r->size = mask + 1;
        r->aux = gpa; /* kept for the phys match; cleared on output */
        r->device = (uint16_t)(bus << 8 | dev << 3 | fn);
        r->flags = IOSIM_DMA_WRITE;
        return 0;
    }
    if (!strncmp(s, "vtd_iotlb_page_hit ", 19)) {
        ql->kind = QL_IOTLB_HIT;
        return 0;
    }
    if (!strncmp(s, "vtd_iotlb_page_update ", 22)) {
        ql->kind = QL_IOTLB_MISS; /* a walk, then the entry's insertion */
        return 0;
    }
    if (!strncmp(s, "vtd_inv_qi_tail ", 16)) {
        ql->kind = QL_QI_TAIL;
        return 0;
    }
    if (!strncmp(s, "vtd_inv_desc ", 13)) {
        char type[32];
        unsigned long long hi, lo;
        if (sscanf(s + 13, "invalidate desc type %31s high 0x%llx low 0x%llx",
                   type, &hi, &lo) != 3) {
            snprintf(why, n,
                     "vtd_inv_desc: expected 'invalidate desc type "
                     "T high 0x.. low 0x..'");
            return -1;
        }
        if (!strcmp(type, "wait")) {
            ql->kind = QL_WAIT;
            return 0;
        }
        ql->kind = QL_DESC;
        if (import_decode_qi(lo, hi, &ql->rec) < 0)
            ql->kind = QL_OTHER; /* not an invalidation */
        return 0;
    }
    return 0;
}

static bool same_desc(const iosim_rec_t *a, const iosim_rec_t *b)
{
    return a->aux == b->aux && a->iova == b->iova && a->am == b->am &&
           a->flags == b->flags && a->desc == b->desc;
}

static bool is_anchor(const iosim_rec_t *r)
{
    return r->kind == IOSIM_REC_INVAL && r->desc != IOSIM_DESC_WAIT;
}

/* Reads the next QEMU line of interest; 1, 0 at end, -1. */
static int qemu_next(import_in_t *in, const char *name, qline_t *ql,
                     import_counts_t *counts, iosim_err_t *err)
{
    char *line;
    char why[160];
    for (;;) {
        int r = import_in_line(in, &line, NULL, err);
        if (r <= 0)
            return r;
        counts->lines++;
        if (qemu_parse_line(line, ql, why, sizeof why) < 0)
            return iosim_err_set(err, "%s:%lu: %s", name, import_in_lineno(in),
                                 why);
        if (ql->kind != QL_OTHER)
            return 1;
    }
}

/* ------------------------------------------------------------------ */
/* Pass 1: where does the guest trace start in the QEMU stream?        */
/* ------------------------------------------------------------------ */
typedef struct cand {
    uint64_t offset;
    uint64_t score;
    unsigned reordered; /* matches past the first pending descriptor */
} cand_t;

static uint64_t absdiff(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

static int qemu_sync(import_in_t *qin, const char *qname, FILE *gf,
                     const char *gname, const import_opts_t *opts,
                     import_counts_t *counts, uint64_t *offset,
                     iosim_err_t *err)
{
    /* the first K guest descriptors and the window they may overtake */
    iosim_rec_t gpre[QEMU_SYNC_K + QEMU_REORDER_WINDOW];
    bool used[QEMU_SYNC_K + QEMU_REORDER_WINDOW];
    unsigned ng = 0;
    iosim_rec_t qring[QEMU_SYNC_K];
    uint64_t qtime[QEMU_SYNC_K];
    uint64_t n_guest = 0, n_qemu = 0;
    unsigned k = 0;
    int rc = -1;
    cand_t *cands = NULL;
    size_t ncands = 0;
    import_counts_t scratch = {0};

    /* guest: first K anchors and the total */
    import_in_t *gin = import_in_new(gf, gname, err);
    if (!gin)
        return -1;
    ftrace_parser_t *gp =
        ftrace_parser_new(gin, gname, opts, NULL, &scratch, err);
    if (!gp) {
        import_in_free(gin);
        return -1;
    }
    iosim_rec_t r;
    int got;
    while ((got = ftrace_parser_next(gp, &r, err)) > 0) {
        if (!is_anchor(&r))
            continue;
        if (ng < QEMU_SYNC_K + QEMU_REORDER_WINDOW)
            gpre[ng++] = r;
        n_guest++;
    }
    ftrace_parser_free(gp);
    import_in_free(gin);
    if (got < 0)
        return -1;
    if (n_guest == 0)
        return iosim_err_set(err,
                             "%s: the guest trace has no qi_submit: cannot "
                             "align it with the QEMU log %s",
                             gname, qname);
    k = ng < QEMU_SYNC_K ? ng : QEMU_SYNC_K;

    size_t capcands = 0; /* grown on demand up to QEMU_MAX_CANDIDATES */
    qline_t ql;
    bool timestamps = true;
    while ((got = qemu_next(qin, qname, &ql, &scratch, err)) > 0) {
        if (ql.kind != QL_DESC)
            continue;
        timestamps = timestamps && ql.has_time;
        qring[n_qemu % QEMU_SYNC_K] = ql.rec;
        qtime[n_qemu % QEMU_SYNC_K] = ql.t_ns;
        n_qemu++;
        if (n_qemu < k)
            continue;
        uint64_t o = n_qemu - k;
        /* equal up to local reordering: descriptors submitted on two CPUs
         * within the ftrace clock's resolution come out of the guest's
         * per-CPU buffers in another order than QEMU saw them (see
         * merge); QEMU's descriptor p matches the earliest identical
         * guest descriptor among the first QEMU_REORDER_WINDOW not yet
         * matched, the merge's rule, so that every start the merge can
         * follow is found (gpre holds all of them: p < K). */
        bool match = true;
        memset(used, 0, ng * sizeof *used);
        unsigned first = 0; /* gpre[0..first) all matched */
        unsigned reordered = 0;
        for (unsigned p = 0; p < k && match; p++) {
            const iosim_rec_t *q0 = &qring[(o + p) % QEMU_SYNC_K];
            unsigned pending = 0;
            match = false;
            for (unsigned j = first; j < ng && pending < QEMU_REORDER_WINDOW;
                 j++) {
                if (used[j])
                    continue;
                if (same_desc(q0, &gpre[j])) {
                    used[j] = true;
                    match = true;
                    reordered += pending > 0;
                    break;
                }
                pending++;
            }
            while (first < ng && used[first])
                first++;
        }
        if (!match || ncands == QEMU_MAX_CANDIDATES)
            continue;
        uint64_t score = 0;
        for (unsigned i = 1; i < k; i++) {
            uint64_t dq = qtime[(o + i) % QEMU_SYNC_K] - qtime[o % QEMU_SYNC_K];
            uint64_t dg = gpre[i].t - gpre[0].t;
            score += absdiff(dq, dg);
        }
        if (vec_reserve(&cands, &capcands, ncands + 1, 64)) {
            iosim_err_set(err, "%s: out of memory", qname);
            goto out;
        }
        cands[ncands].offset = o;
        cands[ncands].score = score;
        cands[ncands].reordered = reordered;
        ncands++;
    }
    if (got < 0)
        goto out;
    counts->qemu_timestamps = timestamps && n_qemu > 0;
    size_t best = SIZE_MAX;
    uint32_t valid = 0;
    for (size_t i = 0; i < ncands; i++) {
        if (cands[i].offset + n_guest > n_qemu)
            continue;
        valid++;
        /* the start needing the fewest re-orderings: a start the window
         * allows only by re-ordering much is a coincidence of repeated
         * descriptors */
        if (best == SIZE_MAX || cands[i].reordered < cands[best].reordered ||
            (cands[i].reordered == cands[best].reordered &&
             counts->qemu_timestamps && cands[i].score < cands[best].score))
            best = i;
    }
    counts->qemu_sync_candidates = valid;
    if (best == SIZE_MAX) {
        iosim_err_set(err,
                      "%s: the guest's first %u qi_submit descriptors (%s) "
                      "do not occur in this QEMU log",
                      qname, k, gname);
        goto out;
    }
    *offset = cands[best].offset;
    rc = 0;
out:
    free(cands);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Hash tables (base/u64map.h): live mappings, maps iova page -> gpa    */
/* page, and the index of MAPs in the look-ahead window, a multimap     */
/* iova page -> (gpa page, position).                                   */
/* ------------------------------------------------------------------ */

/* First position >= from of a MAP mapping page to gpa; SIZE_MAX if none. */
static size_t index_find(const u64map_t *t, uint64_t page, uint64_t gpa,
                         size_t from)
{
    size_t best = SIZE_MAX;
    for (size_t i = u64map_probe(t, page); i != SIZE_MAX;
         i = u64map_probe_next(t, page, i)) {
        const u64map_slot_t *e = &t->s[i];
        if (e->val == gpa && e->aux >= from && e->aux < best)
            best = (size_t)e->aux;
    }
    return best;
}

/* ------------------------------------------------------------------ */
/* Pass 2: merge                                                       */
/* ------------------------------------------------------------------ */
/* Guest descriptors of two CPUs can come out of the guest's trace in
 * another order than they took the QI lock, QEMU's order.  qi_submit is
 * traced under that lock with trace_clock=global, which never goes back:
 * a CPU whose clock lags is given the last time any CPU read, so while it
 * lags every event it logs carries that one time stamp, and the trace
 * file (per-CPU buffers merged by time stamp) breaks such ties by CPU
 * number, not by the order the events happened.  Every out-of-order
 * descriptor of the captures overtook only descriptors of its own time
 * stamp (57 in 19 captures, 2 vCPUs, virtio-net and e1000e), a run of up
 * to 17 (the e1000e memcached capture of tests/data/qemu-mc-e1000e-cut.*:
 * CPU 0 unmapped 17 transmitted buffers in one hard interrupt at the time
 * stamp of CPU 1's descriptor, which QEMU had processed first).
 *
 * A QEMU descriptor is therefore matched against the guest's pending
 * descriptors, the earliest identical one winning: first those it already
 * overtook (`held`, in guest order), then the next ones of the trace, at
 * most QEMU_REORDER_WINDOW pending in all.  Identical descriptors (the
 * same page invalidated after its map and again after its unmap) are
 * interchangeable, so which of them matches changes nothing but where the
 * records between them go.  A match that is not the guest's first pending
 * descriptor counts as re-ordered (counts->qemu_reordered).
 * QEMU_REORDER_WINDOW: a run of one CPU's descriptors in one tie is what
 * one interrupt or softirq does, at most a driver's ring clean: e1000e
 * cleans up to its TX ring's 256 descriptors in one call
 * (e1000_clean_tx_irq stops at tx_ring->count, E1000_DEFAULT_TXD 256),
 * virtio_net's NAPI poll at most its budget of 64 buffers.  The sync
 * (pass 1) matches the start the same way. */
typedef struct merge {
    import_sink_t *sink;
    import_counts_t *counts;
    const char *qname;   /* the QEMU log, for messages               */
    unsigned long qline; /* its line being merged                    */
    const char *gname;   /* the guest trace, for messages            */
    import_in_t *gin;    /* its input                                */
    ftrace_parser_t *gp;
    bool guest_eof;
    iosim_rec_t *buf;   /* guest records read ahead                      */
    size_t len, cur;    /* buf[cur..len) not yet emitted                 */
    size_t anchor_pos;  /* first anchor in buf[cur..len), else len       */
    u64map_t live;      /* emitted mappings: iova page -> gpa page      */
    u64map_t premapped; /* pages of `live` that came from an explicit MAP
                          of a pre-capture mapping (see merge_dma)       */
    u64map_t ever;      /* pages the guest trace has mapped at some time */
    u64map_t index;     /* MAPs in buf: iova page -> (gpa page, position) */
    size_t *used;       /* index slots in use (cleared on reset)         */
    size_t nused;
    unsigned long *bufline; /* guest line of each buf record         */
    /* buf, bufline and used (capbuf, capused) and the index grow on
     * demand up to QEMU_INTERVAL_MAX records and QEMU_INDEX_SLOTS: most
     * intervals hold a few records */
    size_t capbuf, capused;
    iosim_rec_t held[QEMU_REORDER_WINDOW]; /* overtaken, in guest order */
    unsigned long heldline[QEMU_REORDER_WINDOW];
    size_t nheld;
    uint64_t last_t; /* time of the last emitted record               */
    bool have_offset;
    int64_t offset;     /* guest ns - qemu ns at the last anchor          */
    pcap_join_t *pj;    /* --pcap: the netdev's frames (import_pcap.c)    */
    u64map_t untouched; /* pages of emitted MAPs not yet translated ->
                           the MAP's sink handle (a pop for --pcap)      */
    u64map_t arrive;    /* --pcap: rx buffer page -> the trace time its
                           frame arrived, for the buffer's UNMAP (aux)   */
    u64map_t rxlen;     /* --pcap-tap: rx buffer page -> its frame's
                           length, for the buffer's UNMAP (reserved)     */
    /* the explicit MAP of a pre-capture mapping made last (merge_dma):
     * its handle, first IOVA and gpa page, pages; the sink's count of
     * records put after the DMA of its last page: open while nothing else
     * was put after that DMA */
    bool pre_open;
    uint64_t pre_map_h, pre_puts, pre_page, pre_gpa, pre_pages;
} merge_t;

static void merge_find_anchor(merge_t *m)
{
    size_t i = m->cur;
    while (i < m->len && !is_anchor(&m->buf[i]))
        i++;
    m->anchor_pos = i;
}

static void merge_reset(merge_t *m)
{
    u64map_clear_slots(&m->index, m->used, m->nused);
    m->nused = 0;
    m->len = m->cur = m->anchor_pos = 0;
}

static bool merge_full(const merge_t *m)
{
    return m->len == QEMU_INTERVAL_MAX ||
           m->nused + QEMU_MAP_INDEX_PAGES > QEMU_INDEX_SLOTS / 2;
}

/* Room for one more record in buf and QEMU_MAP_INDEX_PAGES more index
 * entries (merge_full bounds both); 0, or -1 out of memory. */
static int merge_reserve(merge_t *m)
{
    size_t capb = m->capbuf, capl = m->capbuf; /* one count, two arrays */
    if (vec_reserve(&m->buf, &capb, m->len + 1, 256) ||
        vec_reserve(&m->bufline, &capl, m->len + 1, 256))
        return -1;
    m->capbuf = capb;
    size_t want = m->nused + QEMU_MAP_INDEX_PAGES;
    if (vec_reserve(&m->used, &m->capused, want, 2 * want))
        return -1;
    if (want * 2 > m->index.cap) {
        /* rehash the entries in use, in the order they were added */
        size_t cap = m->index.cap;
        while (want * 2 > cap)
            cap *= 2;
        if (u64map_rehash(&m->index, cap, m->used, m->nused) < 0)
            return -1;
    }
    return 0;
}

/* Appends guest records up to and including the next anchor (or to the
 * end, or until the buffer is full). */
static int merge_extend(merge_t *m, iosim_err_t *err)
{
    if (m->cur == m->len)
        merge_reset(m);
    while (!m->guest_eof && !merge_full(m)) {
        if (merge_reserve(m) < 0)
            return iosim_err_set(err, "%s: out of memory", m->qname);
        iosim_rec_t *r = &m->buf[m->len];
        int got = ftrace_parser_next(m->gp, r, err);
        if (got < 0)
            return -1;
        if (got == 0) {
            m->guest_eof = true;
            break;
        }
        m->bufline[m->len] = ftrace_parser_lineno(m->gp);
        if (r->kind == IOSIM_REC_MAP) {
            uint64_t pages = (r->size + 4095) >> PAGE_SHIFT;
            if (pages > QEMU_MAP_MAX_PAGES)
                return iosim_err_set(
                    err,
                    "%s:%lu: map of %llu bytes: the QEMU merge tracks a "
                    "guest mapping page by page, at most 1 GB per map",
                    m->gname, m->bufline[m->len], (unsigned long long)r->size);
            if (pages > QEMU_MAP_INDEX_PAGES)
                pages = QEMU_MAP_INDEX_PAGES;
            for (uint64_t i = 0; i < pages; i++)
                m->used[m->nused++] =
                    u64map_add(&m->index, (r->iova >> PAGE_SHIFT) + i,
                               (r->aux >> PAGE_SHIFT) + i, m->len);
        }
        m->len++;
        if (is_anchor(r))
            break;
    }
    merge_find_anchor(m);
    return 0;
}

static int merge_emit_one(merge_t *m, const iosim_rec_t *src, iosim_err_t *err)
{
    iosim_rec_t r = *src;
    uint64_t pages = (r.size + 4095) >> PAGE_SHIFT;
    /* A held descriptor emitted late, or a guest record older than the
     * last one emitted: the output stays time-ordered, and so do the
     * UNMAPs below, which take this time. */
    if (r.t < m->last_t)
        r.t = m->last_t;
    if (r.kind == IOSIM_REC_MAP) {
        /* A guest MAP over a page only known from a pre-capture mapping:
         * that mapping ended before this map (its unmap was not traced);
         * say so with an UNMAP so the trace stays consistent. */
        uint64_t old;
        for (uint64_t i = 0; i < pages; i++) {
            uint64_t pg = (r.iova >> PAGE_SHIFT) + i;
            if (!u64map_get(&m->premapped, pg, &old))
                continue;
            u64map_del(&m->premapped, pg);
            u64map_del(&m->live, pg);
            iosim_rec_t um = {.kind = IOSIM_REC_UNMAP,
                              .t = r.t,
                              .iova = pg << PAGE_SHIFT,
                              .size = 4096,
                              .device = r.device,
                              .domain = r.domain,
                              .cpu = r.cpu};
            if (import_sink_put(m->sink, &um, err) < 0)
                return -1;
        }
        for (uint64_t i = 0; i < pages; i++)
            if (u64map_put(&m->ever, (r.iova >> PAGE_SHIFT) + i, 1) < 0 ||
                u64map_put(&m->live, (r.iova >> PAGE_SHIFT) + i,
                           (r.aux >> PAGE_SHIFT) + i) < 0)
                return iosim_err_set(err, "%s: out of memory", m->qname);
    } else if (r.kind == IOSIM_REC_UNMAP) {
        /* bounded by the tables, not by the size: an unmap may cover far
         * more pages than were ever mapped */
        u64map_del_range(&m->live, r.iova >> PAGE_SHIFT, pages);
        u64map_del_range(&m->premapped, r.iova >> PAGE_SHIFT, pages);
        if (m->pj) {
            uint64_t a;
            u64map_del_range(&m->untouched, r.iova >> PAGE_SHIFT, pages);
            /* the rx frame written into this buffer: its arrival
             * (traces/FORMAT.md §4, UNMAP aux) */
            if (u64map_get(&m->arrive, r.iova >> PAGE_SHIFT, &a)) {
                r.aux = a;
                m->counts->pcap_rx_carried++;
            }
            u64map_del_range(&m->arrive, r.iova >> PAGE_SHIFT, pages);
            /* and its length (traces/FORMAT.md §4, UNMAP reserved) */
            if (u64map_get(&m->rxlen, r.iova >> PAGE_SHIFT, &a))
                r.reserved = (uint16_t)(a < 65535 ? a : 65535);
            u64map_del_range(&m->rxlen, r.iova >> PAGE_SHIFT, pages);
        }
    }
    m->last_t = r.t;
    if (import_sink_put(m->sink, &r, err) < 0)
        return -1;
    uint64_t h = import_sink_last_handle(m->sink);
    if (m->pj && r.kind == IOSIM_REC_MAP && h != UINT64_MAX) {
        if (pages > QEMU_MAP_INDEX_PAGES)
            pages = QEMU_MAP_INDEX_PAGES;
        for (uint64_t i = 0; i < pages; i++)
            if (u64map_put(&m->untouched, (r.iova >> PAGE_SHIFT) + i, h) < 0)
                return iosim_err_set(err, "%s: out of memory", m->qname);
    }
    return 0;
}

/* Emits buf[cur..end); anchors among them go to `held` if hold. */
static int merge_emit_range(merge_t *m, size_t end, bool hold, iosim_err_t *err)
{
    for (; m->cur < end; m->cur++) {
        const iosim_rec_t *r = &m->buf[m->cur];
        if (hold && is_anchor(r)) {
            /* merge_desc looks at most QEMU_REORDER_WINDOW pending */
            if (m->nheld == QEMU_REORDER_WINDOW)
                return iosim_err_set(err,
                                     "%s:%lu: more than %u guest "
                                     "descriptors out of order",
                                     m->qname, m->qline, QEMU_REORDER_WINDOW);
            m->heldline[m->nheld] = m->bufline[m->cur];
            m->held[m->nheld++] = *r;
            continue;
        }
        if (merge_emit_one(m, r, err) < 0)
            return -1;
    }
    return 0;
}

/* A translation of a page mapped before the capture (not live, never
 * mapped by the guest's trace) that comes right after the translation of
 * the last page of the explicit MAP made last (nothing put in between),
 * one page on in both IOVA and gpa, is that mapping's next page: the MAP
 * grows over it (returns 1; 0 if not such a page, -1 out of memory).
 * QEMU maps a buffer's pages one after the other, translating each
 * (hw/virtio/virtio.c virtqueue_map_desc -> dma_memory_map ->
 * address_space_map: flatview_extend_translation), with no other
 * translation in between, whereas two buffers' pops have ring accesses
 * between them (the descriptor read, at least); and Linux maps a buffer
 * with one dma_map call (drivers/net/virtio_net.c add_recvbuf_mergeable
 * -> virtqueue_add_inbuf_ctx -> vring_map_one_sg -> dma_map_page: one
 * iommu_map of the span), which the guest's trace shows as one MAP and
 * later unmaps as one UNMAP of the span. */
static int premap_join(merge_t *m, uint64_t page, uint64_t gpa,
                       iosim_err_t *err)
{
    if (!m->pre_open || import_sink_puts(m->sink) != m->pre_puts ||
        page != m->pre_page + m->pre_pages || gpa != m->pre_gpa + m->pre_pages)
        return 0;
    /* (a MAP the window filter dropped: the page goes with it) */
    if (m->pre_map_h != UINT64_MAX) {
        iosim_rec_t *mp = import_sink_held(m->sink, m->pre_map_h);
        if (!mp)
            return 0; /* written out already: a MAP of its own */
        mp->size = (m->pre_pages + 1) << PAGE_SHIFT;
    }
    m->pre_pages++;
    if (u64map_put(&m->live, page, gpa) < 0 ||
        u64map_put(&m->premapped, page, gpa) < 0)
        return iosim_err_set(err, "%s: out of memory", m->qname);
    m->counts->qemu_premapped_joined++;
    return 1;
}

static int merge_dma(merge_t *m, const qline_t *ql, iosim_err_t *err)
{
    iosim_rec_t d = ql->rec;
    int pre = 0; /* 1: this translation is an explicit MAP's page */
    uint64_t page = d.iova >> PAGE_SHIFT, gpa = d.aux >> PAGE_SHIFT, cur_gpa;
    d.aux = 0;
    if (u64map_get(&m->live, page, &cur_gpa) && cur_gpa == gpa) {
        m->counts->qemu_dma_matched++;
    } else {
        /* never past the next anchor: its QEMU descriptor has not come */
        size_t pos = index_find(&m->index, page, gpa, m->cur);
        if (pos < m->anchor_pos) {
            if (merge_emit_range(m, pos + 1, false, err) < 0)
                return -1;
            m->counts->qemu_dma_matched++;
        } else {
            m->counts->qemu_dma_unmapped++;
            uint64_t seen;
            if (!u64map_get(&m->live, page, &cur_gpa) &&
                !u64map_get(&m->ever, page, &seen) &&
                (pre = premap_join(m, page, gpa, err)) != 0) {
                if (pre < 0)
                    return -1;
            } else if (!u64map_get(&m->live, page, &cur_gpa) &&
                       !u64map_get(&m->ever, page, &seen)) {
                /* mapped before the capture began (the virtqueue rings):
                 * QEMU's translation says where it points, so make that
                 * mapping explicit once; it is never unmapped in the
                 * trace unless the guest's own UNMAP comes. */
                iosim_rec_t mp = {.kind = IOSIM_REC_MAP,
                                  .t = m->last_t,
                                  .iova = page << PAGE_SHIFT,
                                  .size = (d.size + 4095) & ~4095ull,
                                  .aux = gpa << PAGE_SHIFT,
                                  .device = d.device,
                                  .domain = d.domain,
                                  .flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE};
                if (merge_emit_one(m, &mp, err) < 0)
                    return -1;
                pre = 1;
                m->pre_map_h = import_sink_last_handle(m->sink);
                m->pre_page = page;
                m->pre_gpa = gpa;
                m->pre_pages = mp.size >> PAGE_SHIFT;
                for (uint64_t i = 0; i < mp.size >> PAGE_SHIFT; i++)
                    u64map_del(&m->ever, page + i); /* not the guest's map */
                for (uint64_t i = 0; i < mp.size >> PAGE_SHIFT; i++)
                    if (u64map_put(&m->premapped, page + i, gpa + i) < 0)
                        return iosim_err_set(err, "%s: out of memory",
                                             m->qname);
                m->counts->qemu_premapped++;
            }
        }
    }
    uint64_t h;
    if (m->pj && ql->has_time && u64map_get(&m->untouched, page, &h)) {
        u64map_del(&m->untouched, page); /* a buffer's first translation */
        pcap_join_pop(m->pj, ql->t_ns, h, m->sink, m->counts);
        /* a device write: an rx buffer's pop, which takes the next frame
         * libslirp sent the guest; its arrival in the trace's time (the
         * QEMU clock's offset to the guest's at the last anchor) */
        uint64_t ft;
        uint32_t flen;
        if ((d.flags & IOSIM_DMA_WRITE) &&
            pcap_join_rx_pop(m->pj, ql->t_ns, &ft, &flen, m->counts) &&
            m->have_offset) {
            int64_t a = (int64_t)ft + m->offset;
            if (u64map_put(&m->arrive, page, a > 0 ? (uint64_t)a : 1) < 0 ||
                (flen && u64map_put(&m->rxlen, page, flen) < 0))
                return iosim_err_set(err, "%s: out of memory", m->qname);
        }
    }
    uint64_t t = m->last_t;
    if (ql->has_time && m->have_offset) {
        int64_t mapped = (int64_t)ql->t_ns + m->offset;
        if (mapped > (int64_t)t)
            t = (uint64_t)mapped;
        if (m->cur < m->len && t > m->buf[m->cur].t)
            t = m->buf[m->cur].t < m->last_t ? m->last_t : m->buf[m->cur].t;
    }
    d.t = t;
    m->last_t = t;
    m->counts->qemu_dma_kept++;
    if (import_sink_put(m->sink, &d, err) < 0)
        return -1;
    /* the explicit MAP stays open to the next translation while this one
     * is of its last page */
    m->pre_open = pre > 0 && page + 1 == m->pre_page + m->pre_pages;
    m->pre_puts = import_sink_puts(m->sink);
    return 0;
}

/* One QEMU descriptor: returns 1 if matched, 0 if the guest has no
 * descriptor left (it stopped tracing), -1 on error.  The match is the
 * earliest identical one of the guest's pending descriptors (see
 * QEMU_REORDER_WINDOW). */
static int merge_desc(merge_t *m, const qline_t *ql, const char *qname,
                      unsigned long qline, iosim_err_t *err)
{
    const iosim_rec_t *g = NULL;
    bool first = false; /* the guest's first pending descriptor */
    for (size_t i = 0; i < m->nheld; i++) {
        if (!same_desc(&m->held[i], &ql->rec))
            continue;
        iosim_rec_t h = m->held[i];
        first = i == 0;
        memmove(&m->held[i], &m->held[i + 1],
                (m->nheld - i - 1) * sizeof *m->held);
        memmove(&m->heldline[i], &m->heldline[i + 1],
                (m->nheld - i - 1) * sizeof *m->heldline);
        m->nheld--;
        if (merge_emit_one(m, &h, err) < 0)
            return -1;
        m->held[m->nheld] = h; /* keep a copy for the clock offset */
        g = &m->held[m->nheld];
        break;
    }
    if (!g) {
        size_t match = SIZE_MAX;
        size_t pending = m->nheld; /* looked at: held + anchors in buf */
        for (;;) {
            pending = m->nheld;
            for (size_t i = m->anchor_pos;
                 i < m->len && pending < QEMU_REORDER_WINDOW; i++) {
                if (!is_anchor(&m->buf[i]))
                    continue;
                if (same_desc(&m->buf[i], &ql->rec)) {
                    match = i;
                    break;
                }
                pending++;
            }
            if (match != SIZE_MAX || m->guest_eof ||
                pending >= QEMU_REORDER_WINDOW)
                break;
            if (merge_full(m)) {
                if (pending > m->nheld)
                    break;
                /* an interval longer than the buffer: emit a window */
                if (merge_emit_range(m, m->len, false, err) < 0)
                    return -1;
            }
            if (merge_extend(m, err) < 0)
                return -1;
        }
        if (match == SIZE_MAX) {
            if (m->guest_eof && m->anchor_pos == m->len && m->nheld == 0)
                return 0;
            /* both positions: this QEMU line, and the guest's first
             * descriptor still waiting for its QEMU copy */
            const iosim_rec_t *want = NULL;
            unsigned long wline = 0;
            if (m->nheld) {
                want = &m->held[0];
                wline = m->heldline[0];
            } else if (m->anchor_pos < m->len) {
                want = &m->buf[m->anchor_pos];
                wline = m->bufline[m->anchor_pos];
            }
            if (!want)
                return iosim_err_set(
                    err,
                    "%s:%lu: descriptor qw0=0x%llx addr=0x%llx: the "
                    "guest's trace %s has no qi_submit left within the "
                    "buffer (alignment lost)",
                    qname, qline, (unsigned long long)ql->rec.aux,
                    (unsigned long long)ql->rec.iova, m->gname);
            return iosim_err_set(
                err,
                "%s:%lu: descriptor qw0=0x%llx addr=0x%llx matches none of "
                "the guest's next %zu qi_submit, from %s:%lu (qw0=0x%llx "
                "addr=0x%llx) on; at most %u may be out of order "
                "(alignment lost)",
                qname, qline, (unsigned long long)ql->rec.aux,
                (unsigned long long)ql->rec.iova, pending, m->gname, wline,
                (unsigned long long)want->aux, (unsigned long long)want->iova,
                QEMU_REORDER_WINDOW);
        }
        first = m->nheld == 0 && match == m->anchor_pos;
        if (merge_emit_range(m, match, true, err) < 0 ||
            merge_emit_one(m, &m->buf[match], err) < 0)
            return -1;
        m->cur = match + 1;
        g = &m->buf[match];
    }
    if (!first)
        m->counts->qemu_reordered++;
    m->counts->qemu_anchors++;
    if (ql->has_time) {
        m->offset = (int64_t)g->t - (int64_t)ql->t_ns;
        m->have_offset = true;
    }
    merge_find_anchor(m);
    if (m->cur == m->len && merge_extend(m, err) < 0)
        return -1;
    return 1;
}

static int qemu_merge(import_in_t *qin, const char *qname, FILE *gf,
                      const char *gname, import_sink_t *sink,
                      const import_opts_t *opts, import_counts_t *counts,
                      uint64_t sync_offset, pcap_join_t *pj, iosim_err_t *err)
{
    merge_t m = {0};
    m.pj = pj;
    m.sink = sink;
    m.counts = counts;
    m.qname = qname;
    m.gname = gname;
    int rc = -1;
    import_in_t *gin = import_in_new(gf, gname, err);
    if (!gin)
        return -1;
    m.gin = gin;
    m.gp = ftrace_parser_new(gin, gname, opts, sink, counts, err);
    if (!m.gp || u64map_init(&m.live, 4096) < 0 ||
        u64map_init(&m.premapped, 256) < 0 || u64map_init(&m.ever, 4096) < 0 ||
        u64map_init(&m.index, 4 * QEMU_MAP_INDEX_PAGES) < 0 ||
        u64map_init(&m.untouched, 1024) < 0 ||
        u64map_init(&m.arrive, 1024) < 0 || u64map_init(&m.rxlen, 1024) < 0) {
        if (m.gp)
            iosim_err_set(err, "%s: out of memory", qname);
        goto out;
    }
    if (merge_extend(&m, err) < 0)
        goto out;

    qline_kind_t outcome = QL_OTHER; /* QEMU's IOTLB outcome, next DMA */
    bool tail_written = false;       /* a tail write awaits its descriptors */
    uint64_t qdesc = 0; /* QEMU descriptors seen                    */
    bool done = false;  /* the guest stopped tracing: drop the rest */
    qline_t ql;
    int got;
    while ((got = qemu_next(qin, qname, &ql, counts, err)) > 0) {
        m.qline = import_in_lineno(qin);
        if (ql.kind == QL_WAIT)
            continue;
        if (ql.kind == QL_IOTLB_HIT || ql.kind == QL_IOTLB_MISS) {
            outcome = ql.kind;
            continue;
        }
        if (ql.kind == QL_QI_TAIL) {
            tail_written = true;
            continue;
        }
        if (ql.kind == QL_DESC) {
            if (qdesc++ < sync_offset) {
                counts->qemu_desc_skipped++;
                continue;
            }
            if (done)
                continue;
            int r = merge_desc(&m, &ql, qname, import_in_lineno(qin), err);
            if (r < 0)
                goto out;
            if (r == 0)
                done = true;
            /* the first guest descriptor after a tail write: one trapped
             * submission of the traced guest */
            if (r == 1 && tail_written)
                counts->qemu_tail_writes++;
            tail_written = false;
            continue;
        }
        /* QL_DMA */
        counts->qemu_dma++;
        qline_kind_t seen = outcome;
        outcome = QL_OTHER;
        bool tail = m.guest_eof && m.anchor_pos == m.len && m.nheld == 0;
        if (qdesc <= sync_offset || done ||
            (tail && ql.has_time && m.have_offset && m.len > 0 &&
             (int64_t)ql.t_ns + m.offset > (int64_t)m.buf[m.len - 1].t)) {
            counts->qemu_dma_dropped++;
            continue;
        }
        if (merge_dma(&m, &ql, err) < 0)
            goto out;
        if (seen == QL_IOTLB_HIT)
            counts->qemu_iotlb_hits++;
        else if (seen == QL_IOTLB_MISS)
            counts->qemu_iotlb_misses++;
    }
    if (got < 0)
        goto out;
    /* whatever the guest has left, then descriptors QEMU never showed */
    for (;;) {
        if (merge_emit_range(&m, m.len, false, err) < 0)
            goto out;
        if (m.guest_eof)
            break;
        if (merge_extend(&m, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < m.nheld; i++)
        if (merge_emit_one(&m, &m.held[i], err) < 0)
            goto out;
    if (pj && pcap_join_finish(pj, sink, counts, opts->pcap_path, err) < 0)
        goto out;
    import_sink_meta(sink)->cpus = ftrace_parser_cpus(m.gp);
    rc = 0;
out:
    u64map_fini(&m.untouched);
    u64map_fini(&m.arrive);
    u64map_fini(&m.rxlen);
    u64map_fini(&m.live);
    u64map_fini(&m.premapped);
    u64map_fini(&m.ever);
    u64map_fini(&m.index);
    free(m.used);
    free(m.bufline);
    free(m.buf);
    ftrace_parser_free(m.gp);
    import_in_free(gin);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* --pcap: the times of QEMU's translations (a pass of their own), from
 * which import_pcap.c measures the dump's clock offset. */
static int qemu_pcap_calibrate(import_in_t *qin, const char *qname,
                               pcap_join_t *pj, import_counts_t *counts,
                               iosim_err_t *err)
{
    import_counts_t scratch = *counts;
    uint64_t *tq = NULL;
    size_t n = 0, cap = 0;
    qline_t ql;
    int got;
    while ((got = qemu_next(qin, qname, &ql, &scratch, err)) > 0) {
        if (ql.kind != QL_DMA || !ql.has_time)
            continue;
        if (vec_reserve(&tq, &cap, n + 1, 4096)) {
            free(tq);
            return iosim_err_set(err, "%s: out of memory", qname);
        }
        tq[n++] = ql.t_ns;
    }
    if (got == 0) {
        if (n) /* no timed translation: tq is NULL, which qsort may not
                * be given (undefined behaviour, UBSan stopped there) */
            qsort(tq, n, sizeof *tq, cmp_u64);
        got = pcap_join_calibrate(pj, tq, n, qname, err);
    }
    free(tq);
    return got;
}

static int qemu_run(FILE *f, const char *in_name, import_sink_t *sink,
                    const import_opts_t *opts, import_counts_t *counts,
                    iosim_err_t *err)
{
    iosim_trace_meta_t *meta = import_sink_meta(sink);
    snprintf(meta->source, sizeof meta->source, "qemu");
    meta->has_dma = 1;
    import_sink_defer_header(sink); /* the ref.iotlb.* counts come last */
    import_in_t *qin = import_in_new(f, in_name, err);
    if (!qin)
        return -1;
    int rc = -1;
    uint64_t offset = 0;
    pcap_join_t *pj = NULL;
    FILE *gf = fopen(opts->guest_path, "rb");
    if (!gf) {
        iosim_err_set(err, "%s: cannot open: %s", opts->guest_path,
                      iosim_errno_str(errno));
        goto out;
    }
    if (qemu_sync(qin, in_name, gf, opts->guest_path, opts, counts, &offset,
                  err) < 0)
        goto out;
    if (import_in_rewind(qin, err) < 0)
        goto out;
    if (opts->pcap_path) {
        if (!(pj = pcap_join_new(opts->pcap_path, opts->pcap_tap, err)) ||
            qemu_pcap_calibrate(qin, in_name, pj, counts, err) < 0 ||
            import_in_rewind(qin, err) < 0)
            goto out;
        counts->pcap_frames = pcap_join_frames(pj);
        counts->pcap_rx_frames = pcap_join_rx_frames(pj);
        counts->pcap_offset_ns = pcap_join_offset(pj);
    }
    if (fseek(gf, 0, SEEK_SET) != 0) {
        iosim_err_set(err, "%s: cannot rewind", opts->guest_path);
        goto out;
    }
    rc = qemu_merge(qin, in_name, gf, opts->guest_path, sink, opts, counts,
                    offset, pj, err);
    /* QEMU's own IOTLB counts of the DMAs written, for comparison with the
     * model's (a reference of the whole trace: not with --window, which
     * drops some of them after they were counted here) */
    /* only when every DMA written has its outcome: a log without some of
     * the vtd_iotlb_* events (trace filtered) would give wrong counts */
    if (rc == 0 && !opts->window && counts->qemu_dma_kept > 0 &&
        counts->qemu_iotlb_hits + counts->qemu_iotlb_misses ==
            counts->qemu_dma_kept) {
        iosim_trace_meta_set_ref(meta, "iotlb.lookups",
                                 counts->qemu_iotlb_hits +
                                     counts->qemu_iotlb_misses);
        iosim_trace_meta_set_ref(meta, "iotlb.hits", counts->qemu_iotlb_hits);
        iosim_trace_meta_set_ref(meta, "iotlb.misses",
                                 counts->qemu_iotlb_misses);
    }
    /* the guest's trapped IQT writes: the vIOMMU's queue submissions
     * (iq.submits when the vIOMMU is the modeled IOMMU,
     * configs/qemu-virtio.yaml) = VM exits (hv.vmexits, hv.mode
     * emulated, configs/qemu-guest.yaml) */
    if (rc == 0 && !opts->window && counts->qemu_tail_writes > 0) {
        iosim_trace_meta_set_ref(meta, "iq.submits", counts->qemu_tail_writes);
        iosim_trace_meta_set_ref(meta, "hv.vmexits", counts->qemu_tail_writes);
    }
out:
    pcap_join_free(pj);
    if (gf)
        fclose(gf);
    import_in_free(qin);
    return rc;
}

static int qemu_validate(const import_opts_t *opts, const char *in_name,
                         iosim_err_t *err)
{
    if (!opts->guest_path || !*opts->guest_path)
        return iosim_err_set(err,
                             "%s: the QEMU import needs the guest's "
                             "ftrace (--guest FILE)",
                             in_name);
    return 0;
}

/* What the merge did and QEMU's own counts, after the common lines. */
static void qemu_describe(const import_counts_t *c, char *buf, size_t n)
{
    int len = snprintf(
        buf, n,
        "qemu: %llu translations -> %llu DMA (%llu after "
        "their map, %llu to IOVAs mapped before the capture, "
        "%llu explicit MAPs of such mappings, %llu pages joined to the "
        "MAP of the page before: one buffer), "
        "%llu dropped outside the guest trace; %llu anchors "
        "(%llu re-ordered: matched past a guest descriptor "
        "with the same timestamp), "
        "%llu earlier descriptors skipped, %u sync "
        "candidate(s), timestamps %s; QEMU's own IOTLB on "
        "those DMA: %llu hits, %llu misses; %llu trapped "
        "queue-tail writes\n",
        (unsigned long long)c->qemu_dma, (unsigned long long)c->qemu_dma_kept,
        (unsigned long long)c->qemu_dma_matched,
        (unsigned long long)c->qemu_dma_unmapped,
        (unsigned long long)c->qemu_premapped,
        (unsigned long long)c->qemu_premapped_joined,
        (unsigned long long)c->qemu_dma_dropped,
        (unsigned long long)c->qemu_anchors,
        (unsigned long long)c->qemu_reordered,
        (unsigned long long)c->qemu_desc_skipped, c->qemu_sync_candidates,
        c->qemu_timestamps ? "yes" : "no",
        (unsigned long long)c->qemu_iotlb_hits,
        (unsigned long long)c->qemu_iotlb_misses,
        (unsigned long long)c->qemu_tail_writes);
    if (len >= 0 && (size_t)len < n && c->pcap_frames)
        len += snprintf(buf + len, n - (size_t)len,
                        "pcap: %llu guest frames, clock offset %lld ns; "
                        "%llu joined to the MAP of their buffer (%llu "
                        "answered by libslirp inside the element), %llu "
                        "not joined\n",
                        (unsigned long long)c->pcap_frames,
                        (long long)c->pcap_offset_ns,
                        (unsigned long long)c->pcap_joined,
                        (unsigned long long)c->pcap_answered,
                        (unsigned long long)c->pcap_unjoined);
    if (len >= 0 && (size_t)len < n && c->pcap_frames)
        len += snprintf(buf + len, n - (size_t)len,
                        "pcap: %llu frames to the guest; %llu joined to an "
                        "rx buffer's pop, %llu of them carried to its UNMAP "
                        "(arrival), %llu not joined\n",
                        (unsigned long long)c->pcap_rx_frames,
                        (unsigned long long)c->pcap_rx_joined,
                        (unsigned long long)c->pcap_rx_carried,
                        (unsigned long long)c->pcap_rx_unjoined);
    uint64_t outcomes = c->qemu_iotlb_hits + c->qemu_iotlb_misses;
    if (len >= 0 && (size_t)len < n && outcomes && outcomes != c->qemu_dma_kept)
        snprintf(buf + len, n - (size_t)len,
                 "qemu: QEMU's IOTLB outcome is missing for %llu of "
                 "%llu DMA (vtd_iotlb_page_hit/update not traced?): no "
                 "ref.iotlb.* written\n",
                 (unsigned long long)(c->qemu_dma_kept - outcomes),
                 (unsigned long long)c->qemu_dma_kept);
}

// clang-format off
static const gen_param_t qemu_params[] = {
    {"--guest", "FTRACE_TXT", GEN_OPT_PATH, offsetof(import_opts_t, guest_path),
     NULL, 1, 0, NULL,
     "the guest's ftrace of the same run (required): its map, unmap\n"
     "and qi_submit events, merged with QEMU's translations", NULL},
    {"--pcap", "PCAP", GEN_OPT_PATH, offsetof(import_opts_t, pcap_path),
     NULL, 0, 0, NULL,
     "the netdev's filter-dump of the same run (user networking): each\n"
     "guest tx frame's libslirp answer goes on the MAP of its buffer\n"
     "(MAP reserved), each frame to the guest's arrival on the UNMAP of\n"
     "its rx buffer (UNMAP aux; traces/FORMAT.md; docs/dev-virtio-net.md)",
     NULL},
    {"--pcap-tap", NULL, GEN_OPT_FLAG, offsetof(import_opts_t, pcap_tap),
     NULL, 0, 0, NULL,
     "the --pcap dump is of a tap with its virtio-net header (QEMU 7.2\n"
     "filter-dump: 12 header bytes before each frame): no libslirp\n"
     "replay (a tap answers nothing inside the tx element), and each rx\n"
     "frame's length goes on the UNMAP of its buffer too (UNMAP\n"
     "reserved; the mergeable rx buffers it fills)",
     NULL},
    {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
};
// clang-format on

const import_source_t import_source_qemu = {
    .name = "qemu",
    .summary = "QEMU -trace vtd_* log merged with the guest's ftrace "
               "(--guest): real device DMA records; QEMU's own IOTLB "
               "hits/misses and trapped queue-tail writes kept as ref.* "
               "metadata (not with --window)",
    .input = "QEMU_LOG",
    .params = qemu_params,
    .validate = qemu_validate,
    .run = qemu_run,
    .describe = qemu_describe,
    .implies_none = IMPORT_IMPLIES_NONE
    " QEMU's own software IOTLB is modeled by a configuration "
    "(configs/qemu-virtio.yaml); its counts travel as ref.*",
};
