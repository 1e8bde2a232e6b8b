/* import_ftrace.c — Linux ftrace text (/sys/kernel/tracing/trace or
 * `trace-cmd report`) -> iosim records.
 *
 * Concepts:
 *   - Line: `<comm>-<pid> [<cpu>] <flags> <ts>: <event>: <text>`
 *     (MODEL.md §2.1); trace-cmd report omits <flags>.  The cpu field is
 *     the first `[digits]` on the line (comm may hold spaces and dashes).
 *   - Events converted (MODEL.md §2.2–2.4):
 *       map:        -> MAP   iova, size, aux = paddr, prot = READ|WRITE
 *                     (the tracepoint carries no prot)
 *       unmap:      -> UNMAP iova, size = unmapped_size
 *       qi_submit:  -> INVAL decoded by import_decode_qi (§3.5), aux = qw0
 *       tracing_mark_write: BENCH_START / BENCH_END -> MARK begin / end,
 *                     any other text -> MARK request, id = 1, 2, 3 ...
 *       dma_map_page / dma_map_phys / dma_unmap_page / dma_unmap_phys
 *       (6.12+) -> MAP / UNMAP, but only while no iommu:map/unmap has
 *                     been seen: an IOMMU-translated dma_map_* call fires
 *                     iommu:map first (kernel/dma/mapping.c traces after
 *                     the ops call), so once iommu events appear the dma_*
 *                     events are duplicates and are skipped (counted).
 *                     The device then comes from the event's device name.
 *   - map/unmap carry no device or domain: device = opts->device, domain
 *     stamped by the sink (vote over IOTLB DIDs, import.h).
 *   - Kernels: the formats read here are those of Linux 6.1 and 6.12
 *     (checked against the events/<system>/<event>/format files a 6.12.95
 *     guest saved, traces/raw/redis-strict-612/event-formats.txt):
 *     iommu:map, iommu:unmap and intel_iommu:qi_submit print the same
 *     fields in both.  What differs is inside the descriptors: 6.12 puts
 *     the invalidation hint in the address qword of an unmap's
 *     page-selective IOTLB descriptor (bit 6, VT-d spec §6.5.2.3;
 *     0xffff9040 for 0xffff9000), which import_decode_qi turns into
 *     flags IOSIM_INVAL_IH and an address without it (bits 11:0 are
 *     never part of the address); 6.1 never sets it there (only in
 *     first-stage P_IOTLB descriptors).  6.12 also has the
 *     dma:* events (dma_map_page: "DEV dir=D dma_addr=HEX size=N
 *     phys_addr=HEX attrs=A", dma_unmap_page the same without
 *     phys_addr; bare hex, no 0x), handled as said above.
 *   - Time: seconds.fraction -> ns by integer arithmetic on the digits.
 *   - Two layers: the line parser reads each event's fields from its text,
 *     then the ftrace_ev_* builders (import.h) turn fields into a record;
 *     the trace-cmd reader (import_tracecmd.c) reads the same fields from
 *     the binary records and calls the same builders.
 *   - Ties: records of one time stamp from several CPUs are re-ordered,
 *     each CPU's own order kept, so that no IOVA is mapped while live or
 *     unmapped while free (the tie rule, order_group): the first such
 *     order in file order, found by an exact search over the group's
 *     interleavings; a group with none keeps the file's order (counted:
 *     tie_unresolved).  Both sources apply it: the text parser
 *     (ftrace_parser_next: import ftrace and the QEMU merge's guest
 *     stream) and the trace-cmd reader (ftrace_parser_put / _drain).
 * Assumptions:
 *   - The file is already merged in time order across CPUs (what the
 *     `trace` file and trace-cmd report print).
 *   - The tie rule's search is bounded: groups of at most FTRACE_TIE_MAX
 *     records (a longer one is re-ordered in pieces), at most
 *     FTRACE_TIE_NODES states expanded per group (beyond: file order,
 *     counted in tie_search_cut).  Its page table grows with the distinct
 *     IOVA pages the trace maps or unmaps (the IOVA working set).
 *   - CPU numbers fit the record's 8-bit cpu field (error otherwise).
 * Not modeled: io_page_fault (Intel DMAR does not use it, MODEL.md §2.2),
 *   cache_tag_* events (counted as unknown), dma_map_sg (IOVAs of a
 *   scatterlist; counted as unknown).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "base/vec.h"
#include "trace/import.h"
#include "trace/trace_internal.h"

/* Equal-timestamp groups longer than this are re-ordered in pieces of
 * this many records (memory bound; a tie of one interrupt's records is a
 * few dozen, see import_qemu.c's QEMU_REORDER_WINDOW). */
#define FTRACE_TIE_MAX 1024u
/* A group's search (tie_search) expands at most this many states (one
 * per set of records placed and pages' state): a bound on time and memory
 * (the memo: 24 B a slot, at most half full, 24 MB).  It lets a search of
 * two CPUs' FTRACE_TIE_MAX records that finds no order visit every set of
 * records placed (at most 513^2 = 263,169) when the pages' states do not
 * double them.  A group that needs more keeps its file order (counted). */
#define FTRACE_TIE_NODES (UINT64_C(1) << 19)
/* A map/unmap of more pages than this is not tracked page by page: its
 * pages are forgotten (unknown) and it never counts as inconsistent. */
#define FTRACE_TRACK_PAGES (UINT64_C(1) << 18) /* 1 GB of 4 KB pages */
#define FTRACE_PAGE_LIVE 1u
#define FTRACE_PAGE_FREE 2u

typedef struct ftrace_undo {
    uint64_t key, val; /* a page and its value before (0: none) */
} ftrace_undo_t;

struct ftrace_parser {
    import_in_t *in;
    const char *name;
    const import_opts_t *opts;
    import_sink_t *sink;
    import_counts_t *counts;
    uint32_t cpus_header; /* "#P:N" or trace-cmd "cpus=N"              */
    uint32_t cpus_seen;   /* max cpu + 1                               */
    uint64_t mark_id;     /* last request MARK id                      */
    bool seen_iommu_map;  /* an iommu:map/unmap line was seen          */
    /* the tie rule (order_group): one group of records with one time
     * stamp, read ahead (or put); the record after it; the state of
     * every IOVA page the trace mapped or unmapped */
    iosim_rec_t *grp;
    unsigned long *gline;    /* input line (record number) of each   */
    size_t *order;           /* the group's order: indices into grp  */
    size_t *nxt;             /* next record of grp[i]'s CPU, SIZE_MAX */
    uint8_t *slot;           /* grp[i]'s CPU as an index of head     */
    size_t glen, gcap, opos; /* order[opos] goes out next            */
    size_t head[256];        /* search: each CPU's next record       */
    unsigned nslots;         /* CPUs in the group                    */
    bool have_next, eof;
    iosim_rec_t next;
    unsigned long next_line;
    unsigned long line; /* input line of the record last returned     */
    u64map_t pages;     /* (device << 48 | iova page) -> LIVE / FREE   */
    /* search (tie_search): page changes to undo, hash of the pages'
     * state, states expanded (memo), their count, bound reached */
    ftrace_undo_t *undo;
    size_t nundo, undocap;
    uint64_t phash;
    u64map_t seen;
    uint64_t nodes;
    bool tie_cut;
};

ftrace_parser_t *ftrace_parser_new(import_in_t *in, const char *in_name,
                                   const import_opts_t *opts,
                                   import_sink_t *sink, import_counts_t *counts,
                                   iosim_err_t *err)
{
    ftrace_parser_t *p = calloc(1, sizeof *p);
    if (!p) {
        iosim_err_set(err, "%s: out of memory", in_name);
        return NULL;
    }
    p->in = in;
    p->name = in_name;
    p->opts = opts;
    p->sink = sink;
    p->counts = counts;
    if (u64map_init(&p->pages, 1024) < 0) {
        free(p);
        iosim_err_set(err, "%s: out of memory", in_name);
        return NULL;
    }
    return p;
}

void ftrace_parser_free(ftrace_parser_t *p)
{
    if (!p)
        return;
    u64map_fini(&p->pages);
    free(p->grp);
    free(p->gline);
    free(p->order);
    free(p->nxt);
    free(p->slot);
    free(p->undo);
    free(p);
}

unsigned long ftrace_parser_lineno(const ftrace_parser_t *p) { return p->line; }

uint32_t ftrace_parser_cpus(const ftrace_parser_t *p)
{
    return p->cpus_header > p->cpus_seen ? p->cpus_header : p->cpus_seen;
}

size_t import_parse_time_ns(const char *s, uint64_t *ns)
{
    const char *q = s;
    uint64_t sec = 0, frac = 0;
    unsigned fdigits = 0;
    if (!isdigit((unsigned char)*q))
        return 0;
    while (isdigit((unsigned char)*q)) {
        if (sec > (UINT64_MAX - 9) / 10)
            return 0;
        sec = sec * 10 + (uint64_t)(*q++ - '0');
    }
    if (*q != '.') {
        *ns = sec; /* raw clock units (counter, x86-tsc clocks) */
        return (size_t)(q - s);
    }
    q++;
    if (!isdigit((unsigned char)*q))
        return 0;
    while (isdigit((unsigned char)*q)) {
        if (fdigits < 9) { /* digits past ns are truncated */
            frac = frac * 10 + (uint64_t)(*q - '0');
            fdigits++;
        }
        q++;
    }
    for (; fdigits < 9; fdigits++)
        frac *= 10;
    if (sec > (UINT64_MAX - frac) / 1000000000u)
        return 0;
    *ns = sec * 1000000000u + frac;
    return (size_t)(q - s);
}

/* Number after "key" in text ("0x"-prefixed or bare hex when hex,
 * decimal otherwise).  Returns 0 or -1. */
static int field_u64(const char *text, const char *key, bool hex, uint64_t *v)
{
    const char *k = strstr(text, key);
    if (!k)
        return -1;
    const char *s = k + strlen(key);
    if (!isxdigit((unsigned char)*s))
        return -1;
    char *end;
    *v = strtoull(s, &end, hex ? 16 : 10);
    if (end == s || (*end && !isspace((unsigned char)*end)))
        return -1;
    return 0;
}

static int bad(char *why, size_t n, const char *fmt, const char *what)
{
    snprintf(why, n, fmt, what);
    return -1;
}

static void base_rec(iosim_rec_t *r, uint64_t t, unsigned cpu)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    r->cpu = (uint8_t)cpu;
}

/* Lowest zero bit at or above bit 12 of a device-TLB address with S=1
 * gives the invalidation size (MODEL.md §1.6.3): bit 12 = 0 => 8 KiB
 * (am 1), bit 13 = 0 => 16 KiB (am 2) ...; all ones => whole device. */
static void devtlb_range(uint64_t addr, iosim_rec_t *r)
{
    unsigned b = 12;
    while (b < 64 && (addr >> b) & 1u)
        b++;
    unsigned am = b - 12 + 1;
    if (am >= 52) { /* whole device (Linux uses mask 52: addr ~0 >> 1) */
        r->am = 52;
        r->iova = 0;
        r->gran = IOSIM_GRAN_GLOBAL;
        return;
    }
    r->am = (uint8_t)am;
    r->iova = addr & ~((UINT64_C(1) << (12 + am)) - 1);
    r->gran = IOSIM_GRAN_PAGE;
}

int import_decode_qi(uint64_t qw0, uint64_t qw1, iosim_rec_t *r)
{
    unsigned type = (unsigned)(qw0 & 0xf);
    r->kind = IOSIM_REC_INVAL;
    r->desc = (uint8_t)type;
    r->aux = qw0;
    r->size = 0;
    r->iova = 0;
    r->flags = 0;
    r->gran = 0;
    r->am = 0;
    r->domain = 0;
    r->device = 0;
    r->pasid = 0;
    switch (type) {
    case IOSIM_DESC_CC: /* G 5:4, DID 31:16, SID 47:32 */
        r->gran = (uint8_t)((qw0 >> 4) & 3);
        r->domain = (uint16_t)((qw0 >> 16) & 0xffff);
        r->device = (uint16_t)((qw0 >> 32) & 0xffff);
        return 0;
    case IOSIM_DESC_IOTLB:  /* G 5:4, DID 31:16 | ADDR 63:12, IH 6, AM 5:0 */
    case IOSIM_DESC_PIOTLB: /* + PASID 51:32 */
        r->gran = (uint8_t)((qw0 >> 4) & 3);
        r->domain = (uint16_t)((qw0 >> 16) & 0xffff);
        if (type == IOSIM_DESC_PIOTLB)
            r->pasid = (uint32_t)((qw0 >> 32) & 0xfffff);
        r->iova = qw1 & ~UINT64_C(0xfff);
        r->flags = (qw1 >> 6) & 1 ? IOSIM_INVAL_IH : 0;
        r->am = (uint8_t)(qw1 & 0x3f);
        return 0;
    case IOSIM_DESC_DEVTLB: /* SID 47:32 | ADDR 63:12, S 0 */
        r->device = (uint16_t)((qw0 >> 32) & 0xffff);
        if (qw1 & 1) {
            devtlb_range(qw1, r);
        } else {
            r->iova = qw1 & ~UINT64_C(0xfff);
            r->gran = IOSIM_GRAN_PAGE;
        }
        return 0;
    case IOSIM_DESC_IEC: /* G 4 (0 global, 1 index), IM 31:27, IIDX 47:32 */
        r->gran = (qw0 >> 4) & 1 ? IOSIM_GRAN_PAGE : IOSIM_GRAN_GLOBAL;
        r->am = (uint8_t)((qw0 >> 27) & 0x1f);
        r->iova = (qw0 >> 32) & 0xffff;
        return 0;
    case IOSIM_DESC_WAIT: /* status address in qw1 */
        r->iova = qw1 & ~UINT64_C(3);
        return 0;
    case IOSIM_DESC_PC: /* G 5:4, DID 31:16, PASID 51:32 */
        r->gran = (uint8_t)((qw0 >> 4) & 3);
        r->domain = (uint16_t)((qw0 >> 16) & 0xffff);
        r->pasid = (uint32_t)((qw0 >> 32) & 0xfffff);
        return 0;
    case IOSIM_DESC_PDEVTLB: /* SID 31:16, PASID 51:32 | G 0, S 11, ADDR */
        r->device = (uint16_t)((qw0 >> 16) & 0xffff);
        r->pasid = (uint32_t)((qw0 >> 32) & 0xfffff);
        if (qw1 & (1u << 11)) {
            devtlb_range(qw1, r);
        } else {
            r->iova = qw1 & ~UINT64_C(0xfff);
            r->gran = IOSIM_GRAN_PAGE;
        }
        if (qw1 & 1) /* all PASIDs */
            r->gran = IOSIM_GRAN_GLOBAL;
        return 0;
    default:
        return -1; /* 0 reserved, 9 page group response, 10+ reserved */
    }
}

/* ---------------------------------------------------------------- */
/* Record builders: fields -> record (shared with import_tracecmd.c) */
/* ---------------------------------------------------------------- */
int ftrace_ev_begin(ftrace_parser_t *p, ftrace_event_t ev, uint64_t t,
                    unsigned long cpu, iosim_rec_t *out, char *why,
                    size_t whylen)
{
    if (cpu > 255)
        return bad(why, whylen, "cpu %s does not fit the 8-bit cpu field",
                   "number");
    base_rec(out, t, (unsigned)cpu);
    if (ev == FTRACE_EV_MAP || ev == FTRACE_EV_UNMAP)
        p->seen_iommu_map = true;
    return 0;
}

int ftrace_ev_map(ftrace_parser_t *p, uint64_t iova, uint64_t end,
                  uint64_t paddr, uint64_t size, iosim_rec_t *r, char *why,
                  size_t n)
{
    if (end - iova != size)
        return bad(why, n, "%s: end - iova != size", "map");
    r->kind = IOSIM_REC_MAP;
    r->iova = iova;
    r->size = size;
    r->aux = paddr;
    r->flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    r->device = p->opts->device;
    return 1;
}

int ftrace_ev_unmap(ftrace_parser_t *p, uint64_t iova, uint64_t end,
                    uint64_t size, uint64_t unmapped, iosim_rec_t *r, char *why,
                    size_t n)
{
    if (end - iova != size)
        return bad(why, n, "%s: end - iova != size", "unmap");
    r->kind = IOSIM_REC_UNMAP;
    r->iova = iova;
    r->size = unmapped;
    r->device = p->opts->device;
    return 1;
}

int ftrace_ev_qi_submit(ftrace_parser_t *p, uint64_t qw0, uint64_t qw1,
                        iosim_rec_t *r)
{
    uint64_t t = r->t;
    uint8_t cpu = r->cpu;
    if (import_decode_qi(qw0, qw1, r) < 0) {
        p->counts->unknown_events++; /* page group response etc. */
        return 0;
    }
    r->t = t;
    r->cpu = cpu;
    if (p->sink &&
        (r->desc == IOSIM_DESC_IOTLB || r->desc == IOSIM_DESC_PIOTLB))
        import_sink_note_did(p->sink, r->domain);
    return 1;
}

int ftrace_ev_mark(ftrace_parser_t *p, const char *text, size_t len,
                   iosim_rec_t *r)
{
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    r->kind = IOSIM_REC_MARK;
    if (len == 11 && !strncmp(text, "BENCH_START", 11)) {
        r->flags = IOSIM_MARK_BEGIN;
    } else if (len == 9 && !strncmp(text, "BENCH_END", 9)) {
        r->flags = IOSIM_MARK_END;
    } else {
        r->flags = IOSIM_MARK_REQUEST;
        r->aux = ++p->mark_id;
    }
    return 1;
}

bool ftrace_ev_dma_skip(ftrace_parser_t *p)
{
    if (!p->seen_iommu_map)
        return false;
    p->counts->dma_api_skipped++;
    return true;
}

int ftrace_ev_dma(ftrace_parser_t *p, bool map, uint16_t sid, uint64_t addr,
                  uint64_t size, uint64_t phys, uint8_t prot, iosim_rec_t *r)
{
    r->kind = map ? IOSIM_REC_MAP : IOSIM_REC_UNMAP;
    r->iova = addr;
    r->size = size;
    r->device = sid;
    if (map) {
        r->aux = phys;
        r->flags = prot;
    }
    p->counts->dma_api_used++;
    return 1;
}

/* ---------------------------------------------------------------- */
/* Text: fields from an event's text                                */
/* ---------------------------------------------------------------- */
static int parse_map(ftrace_parser_t *p, const char *text, iosim_rec_t *r,
                     char *why, size_t n)
{
    uint64_t iova, end, paddr, size;
    if (field_u64(text, "iova=0x", true, &iova) < 0 ||
        field_u64(text, " - 0x", true, &end) < 0 ||
        field_u64(text, "paddr=0x", true, &paddr) < 0 ||
        field_u64(text, "size=", false, &size) < 0)
        return bad(why, n,
                   "%s: expected 'iova=0x.. - 0x.. paddr=0x.. "
                   "size=N'",
                   "map");
    return ftrace_ev_map(p, iova, end, paddr, size, r, why, n);
}

static int parse_unmap(ftrace_parser_t *p, const char *text, iosim_rec_t *r,
                       char *why, size_t n)
{
    uint64_t iova, end, size, unmapped;
    if (field_u64(text, "iova=0x", true, &iova) < 0 ||
        field_u64(text, " - 0x", true, &end) < 0 ||
        field_u64(text, " size=", false, &size) < 0 ||
        field_u64(text, "unmapped_size=", false, &unmapped) < 0)
        return bad(why, n,
                   "%s: expected 'iova=0x.. - 0x.. size=N "
                   "unmapped_size=N'",
                   "unmap");
    return ftrace_ev_unmap(p, iova, end, size, unmapped, r, why, n);
}

static int parse_qi(ftrace_parser_t *p, const char *text, iosim_rec_t *r,
                    char *why, size_t n)
{
    /* "<type-name> <iommu>: 0x%llx 0x%llx 0x%llx 0x%llx" */
    const char *c = strstr(text, ": 0x");
    uint64_t qw[4];
    if (!c)
        return bad(why, n,
                   "%s: expected '<type> <iommu>: 0x.. 0x.. 0x.. "
                   "0x..'",
                   "qi_submit");
    const char *s = c + 1;
    for (int i = 0; i < 4; i++) {
        while (*s == ' ')
            s++;
        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') ||
            !isxdigit((unsigned char)s[2]))
            return bad(why, n, "%s: expected four 0x-prefixed qwords",
                       "qi_submit");
        char *end;
        qw[i] = strtoull(s + 2, &end, 16);
        if (*end && *end != ' ')
            return bad(why, n, "%s: bad qword", "qi_submit");
        s = end;
    }
    return ftrace_ev_qi_submit(p, qw[0], qw[1], r);
}

static int parse_mark(ftrace_parser_t *p, const char *text, iosim_rec_t *r)
{
    return ftrace_ev_mark(p, text, strlen(text), r);
}

static int parse_dma_api(ftrace_parser_t *p, const char *text, bool map,
                         iosim_rec_t *r, char *why, size_t n)
{
    const char *ev = map ? "dma_map_page" : "dma_unmap_page";
    if (ftrace_ev_dma_skip(p))
        return 0;
    uint64_t addr, size, phys = 0;
    uint16_t sid;
    if (trace_parse_bdf(text, strcspn(text, " \t"), &sid) < 0)
        return bad(why, n, "%s: expected a PCI device name first", ev);
    if (field_u64(text, "dma_addr=", true, &addr) < 0 ||
        field_u64(text, "size=", false, &size) < 0 ||
        (map && field_u64(text, "phys_addr=", true, &phys) < 0))
        return bad(why, n, "%s: expected 'dma_addr=.. size=N'", ev);
    /* dir is the CPU's view: TO_DEVICE = device reads memory. */
    uint8_t prot = IOSIM_PROT_READ | IOSIM_PROT_WRITE;
    if (strstr(text, "dir=TO_DEVICE"))
        prot = IOSIM_PROT_READ;
    else if (strstr(text, "dir=FROM_DEVICE"))
        prot = IOSIM_PROT_WRITE;
    return ftrace_ev_dma(p, map, sid, addr, size, phys, prot, r);
}

/* '#' header lines: ring overrun check and the CPU count. */
static void parse_header(ftrace_parser_t *p, const char *line)
{
    const char *e = strstr(line, "entries-in-buffer/entries-written:");
    if (e) {
        unsigned long long x, y;
        if (sscanf(e, "entries-in-buffer/entries-written: %llu/%llu", &x, &y) ==
            2) {
            p->counts->entries_in_buffer = x;
            p->counts->entries_written = y;
            if (x < y)
                p->counts->overrun = true;
        }
    }
    const char *c = strstr(line, "#P:");
    if (c) {
        unsigned long v = strtoul(c + 3, NULL, 10);
        if (v > 0 && v <= 256)
            p->cpus_header = (uint32_t)v;
    }
}

int ftrace_parse_line(ftrace_parser_t *p, const char *line, iosim_rec_t *out,
                      char *why, size_t whylen)
{
    const char *s = line;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    if (*s == '#') {
        parse_header(p, s);
        return 0;
    }
    if (!strncmp(s, "cpus=", 5)) { /* trace-cmd report header */
        unsigned long v = strtoul(s + 5, NULL, 10);
        if (v > 0 && v <= 256)
            p->cpus_header = (uint32_t)v;
        return 0;
    }
    if (strstr(s, "[LOST") && strstr(s, "EVENTS]")) { /* trace-cmd */
        p->counts->overrun = true;
        return 0;
    }
    /* cpu: the first "[digits]" */
    const char *b = s;
    unsigned long cpu = 0;
    const char *after = NULL;
    while ((b = strchr(b, '[')) != NULL) {
        const char *d = b + 1;
        if (isdigit((unsigned char)*d)) {
            char *end;
            cpu = strtoul(d, &end, 10);
            if (*end == ']') {
                after = end + 1;
                break;
            }
        }
        b++;
    }
    if (!after) {
        p->counts->other_lines++;
        return 0;
    }
    /* optional flags, then "<ts>:" */
    const char *q = after;
    while (*q == ' ')
        q++;
    uint64_t t;
    size_t tl = import_parse_time_ns(q, &t);
    if (!tl || q[tl] != ':') {
        while (*q && *q != ' ') /* flags field */
            q++;
        while (*q == ' ')
            q++;
        tl = import_parse_time_ns(q, &t);
        if (!tl || q[tl] != ':') {
            p->counts->other_lines++;
            return 0;
        }
    }
    q += tl + 1;
    while (*q == ' ')
        q++;
    const char *ev = q;
    while (*q && *q != ':' && *q != ' ')
        q++;
    if (*q != ':') {
        p->counts->other_lines++;
        return 0;
    }
    size_t evlen = (size_t)(q - ev);
    const char *text = q + 1;
    while (*text == ' ')
        text++;
#define EVENT_IS(name) (evlen == sizeof(name) - 1 && !strncmp(ev, name, evlen))
    ftrace_event_t kind;
    if (EVENT_IS("map"))
        kind = FTRACE_EV_MAP;
    else if (EVENT_IS("unmap"))
        kind = FTRACE_EV_UNMAP;
    else if (EVENT_IS("qi_submit"))
        kind = FTRACE_EV_QI_SUBMIT;
    else if (EVENT_IS("tracing_mark_write") || EVENT_IS("print"))
        kind = FTRACE_EV_MARK;
    else if (EVENT_IS("dma_map_page") || EVENT_IS("dma_map_phys"))
        kind = FTRACE_EV_DMA_MAP;
    else if (EVENT_IS("dma_unmap_page") || EVENT_IS("dma_unmap_phys"))
        kind = FTRACE_EV_DMA_UNMAP;
    else {
        p->counts->unknown_events++;
        return 0;
    }
    bool print = EVENT_IS("print");
#undef EVENT_IS
    if (ftrace_ev_begin(p, kind, t, cpu, out, why, whylen) < 0)
        return -1;
    switch (kind) {
    case FTRACE_EV_MAP:
        return parse_map(p, text, out, why, whylen);
    case FTRACE_EV_UNMAP:
        return parse_unmap(p, text, out, why, whylen);
    case FTRACE_EV_QI_SUBMIT:
        return parse_qi(p, text, out, why, whylen);
    case FTRACE_EV_MARK:
        if (print) { /* trace-cmd: "print: tracing_mark_write: X" */
            const char *m = strstr(text, "tracing_mark_write:");
            if (!m) {
                p->counts->unknown_events++;
                return 0;
            }
            m += strlen("tracing_mark_write:");
            while (*m == ' ')
                m++;
            text = m;
        }
        return parse_mark(p, text, out);
    case FTRACE_EV_DMA_MAP:
        return parse_dma_api(p, text, true, out, why, whylen);
    case FTRACE_EV_DMA_UNMAP:
        return parse_dma_api(p, text, false, out, why, whylen);
    }
    return 0;
}

/* The next record of the file, in file order: 1, 0 at end, -1. */
static int read_record(ftrace_parser_t *p, iosim_rec_t *out,
                       unsigned long *line_no, iosim_err_t *err)
{
    char *line;
    char why[256];
    for (;;) {
        int r = import_in_line(p->in, &line, NULL, err);
        if (r <= 0)
            return r;
        p->counts->lines++;
        why[0] = '\0';
        r = ftrace_parse_line(p, line, out, why, sizeof why);
        if (r < 0)
            return iosim_err_set(err, "%s:%lu: %s", p->name,
                                 import_in_lineno(p->in), why);
        if (p->sink && p->cpus_header &&
            import_sink_meta(p->sink)->cpus < p->cpus_header)
            import_sink_meta(p->sink)->cpus = p->cpus_header;
        if (r == 0)
            continue;
        *line_no = import_in_lineno(p->in);
        return 1;
    }
}

/* ---------------------------------------------------------------- */
/* The tie rule: the IOVA pages' state                              */
/* ---------------------------------------------------------------- */
/* A MAP/UNMAP's pages as keys of p->pages: false when not tracked (a
 * range of more than FTRACE_TRACK_PAGES pages, or past 2^60). */
static bool tracked(const iosim_rec_t *r, uint64_t *key, uint64_t *n)
{
    uint64_t page = r->iova >> 12;
    *n = ((r->iova & 0xfff) + r->size + 4095) >> 12;
    if (*n > FTRACE_TRACK_PAGES || page + *n > (UINT64_C(1) << 48))
        return false;
    *key = (uint64_t)r->device << 48 | page;
    return true;
}

/* Whether r fits what the trace says of its IOVA pages: a MAP of no live
 * page (drivers/iommu/iova.c alloc_iova hands out only free IOVA ranges,
 * and dma-iommu.c iommu_dma_unmap_page frees a range after unmapping
 * it), an UNMAP of no page whose last record was an UNMAP (it unmaps the
 * whole range iommu_dma_map_page mapped).  Pages never seen are unknown
 * (mapped before the capture): anything fits them. */
static bool fits(const ftrace_parser_t *p, const iosim_rec_t *r)
{
    uint64_t key, n, v;
    if ((r->kind != IOSIM_REC_MAP && r->kind != IOSIM_REC_UNMAP) ||
        !tracked(r, &key, &n))
        return true;
    uint64_t bad =
        r->kind == IOSIM_REC_MAP ? FTRACE_PAGE_LIVE : FTRACE_PAGE_FREE;
    for (uint64_t i = 0; i < n; i++)
        if (u64map_get(&p->pages, key + i, &v) && v == bad)
            return false;
    return true;
}

/* splitmix64's output function (gen.h) as a hash of x. */
static uint64_t mix(uint64_t x)
{
    gen_rng_t g = {x};
    return gen_rng_next(&g);
}

/* Sets page key to v (FTRACE_PAGE_*, 0: forgotten).  In a search (log),
 * the old value goes on the undo log and p->phash follows the change. */
static int page_set(ftrace_parser_t *p, uint64_t key, uint64_t v, bool log,
                    iosim_err_t *err)
{
    if (log) {
        uint64_t old;
        if (!u64map_get(&p->pages, key, &old))
            old = 0;
        if (old == v)
            return 0;
        if (vec_reserve(&p->undo, &p->undocap, p->nundo + 1, 256) < 0)
            return iosim_err_set(err, "%s: out of memory", p->name);
        p->undo[p->nundo++] = (ftrace_undo_t){key, old};
        p->phash ^=
            (old ? mix(key << 2 | old) : 0) ^ (v ? mix(key << 2 | v) : 0);
    }
    if (!v) {
        u64map_del(&p->pages, key);
        return 0;
    }
    if (u64map_put(&p->pages, key, v) < 0)
        return iosim_err_set(err, "%s: out of memory", p->name);
    return 0;
}

/* Forgets the pages [lo, lo + n) (an untracked MAP/UNMAP); in a search,
 * page by page onto the undo log, visiting at most min(n, slots) keys or
 * slots as u64map_del_range does. */
static int forget(ftrace_parser_t *p, uint64_t lo, uint64_t n, bool log,
                  iosim_err_t *err)
{
    if (!log) {
        u64map_del_range(&p->pages, lo, n);
        return 0;
    }
    uint64_t v,
        last = n - 1 > UINT64_MAX - 1 - lo ? UINT64_MAX - 1 : lo + n - 1;
    if (n <= p->pages.cap) {
        for (uint64_t k = lo; k <= last; k++)
            if (u64map_get(&p->pages, k, &v) &&
                page_set(p, k, 0, true, err) < 0)
                return -1;
        return 0;
    }
    for (size_t i = 0; i < p->pages.cap; i++)
        while (p->pages.s[i].key && p->pages.s[i].key - 1 >= lo &&
               p->pages.s[i].key - 1 <= last)
            if (page_set(p, p->pages.s[i].key - 1, 0, true, err) < 0)
                return -1;
    return 0;
}

/* What r does to its IOVA pages (log: in a search, undoably). */
static int note_pages(ftrace_parser_t *p, const iosim_rec_t *r, bool log,
                      iosim_err_t *err)
{
    uint64_t key, n;
    if (r->kind != IOSIM_REC_MAP && r->kind != IOSIM_REC_UNMAP)
        return 0;
    if (!tracked(r, &key, &n))
        return (r->iova >> 12) < (UINT64_C(1) << 48)
                   ? forget(p, (uint64_t)r->device << 48 | r->iova >> 12,
                            (r->size + 4095) >> 12, log, err)
                   : 0;
    uint64_t v = r->kind == IOSIM_REC_MAP ? FTRACE_PAGE_LIVE : FTRACE_PAGE_FREE;
    for (uint64_t i = 0; i < n; i++)
        if (page_set(p, key + i, v, log, err) < 0)
            return -1;
    return 0;
}

/* Undoes the logged page changes back to entry mark (no allocation: a
 * page put back was in the table, of no smaller size, before). */
static int undo_to(ftrace_parser_t *p, size_t mark, iosim_err_t *err)
{
    while (p->nundo > mark) {
        const ftrace_undo_t *u = &p->undo[--p->nundo];
        if (!u->val)
            u64map_del(&p->pages, u->key);
        else if (u64map_put(&p->pages, u->key, u->val) < 0)
            return iosim_err_set(err, "%s: out of memory", p->name);
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* The tie rule: one group of records with one time stamp           */
/* ---------------------------------------------------------------- */
/* Appends a record (where: its input line, or record number) to the
 * group. */
static int group_add(ftrace_parser_t *p, const iosim_rec_t *r,
                     unsigned long where, iosim_err_t *err)
{
    if (p->glen == p->gcap) {
        size_t cap = p->gcap ? 2 * p->gcap : 16;
        iosim_rec_t *g = realloc(p->grp, cap * sizeof *g);
        if (g)
            p->grp = g;
        unsigned long *l = realloc(p->gline, cap * sizeof *l);
        if (l)
            p->gline = l;
        size_t *o = realloc(p->order, cap * sizeof *o);
        if (o)
            p->order = o;
        size_t *x = realloc(p->nxt, cap * sizeof *x);
        if (x)
            p->nxt = x;
        uint8_t *s = realloc(p->slot, cap * sizeof *s);
        if (s)
            p->slot = s;
        if (!g || !l || !o || !x || !s)
            return iosim_err_set(err, "%s: out of memory", p->name);
        p->gcap = cap;
    }
    if ((uint32_t)r->cpu + 1 > p->cpus_seen)
        p->cpus_seen = (uint32_t)r->cpu + 1;
    p->grp[p->glen] = *r;
    p->gline[p->glen++] = where;
    return 0;
}

/* Reads the next group of records with one time stamp (at most
 * FTRACE_TIE_MAX); 0 at end of input, 1, -1. */
static int read_group(ftrace_parser_t *p, iosim_err_t *err)
{
    p->glen = p->opos = 0;
    if (!p->have_next) {
        if (p->eof)
            return 0;
        int r = read_record(p, &p->next, &p->next_line, err);
        if (r <= 0) {
            p->eof = true;
            return r;
        }
    }
    p->have_next = false;
    for (;;) {
        if (group_add(p, &p->next, p->next_line, err) < 0)
            return -1;
        if (p->glen == FTRACE_TIE_MAX || p->eof)
            break;
        int r = read_record(p, &p->next, &p->next_line, err);
        if (r < 0)
            return -1;
        if (r == 0) {
            p->eof = true;
            break;
        }
        if (p->next.t != p->grp[0].t) {
            p->have_next = true;
            break;
        }
    }
    return 1;
}

/* Hash of "record i is placed" (the memo's key, with p->phash). */
static uint64_t placed_hash(size_t i) { return mix(~(uint64_t)i); }

/* The search (ftrace_order_group): places p->order[depth..] from the
 * state reached (p->head: each CPU's next record; p->pages), trying the
 * candidates - each CPU's next record - in file order, a candidate only
 * where it fits.  A state already expanded (same records placed, same
 * page states) has no completion: it was left.  Returns 1 when every
 * record is placed (the pages left in the state after them), 0 if none
 * is possible from here (or the search's bound was reached:
 * p->tie_cut), -1 on error. */
static int tie_search(ftrace_parser_t *p, size_t depth, uint64_t placed,
                      iosim_err_t *err)
{
    if (depth == p->glen)
        return 1;
    uint64_t key = (placed ^ p->phash) >> 1, v; /* below UINT64_MAX */
    if (u64map_get(&p->seen, key, &v))
        return 0;
    if (p->nodes == FTRACE_TIE_NODES) {
        p->tie_cut = true;
        return 0;
    }
    p->nodes++;
    if (u64map_put(&p->seen, key, 1) < 0)
        return iosim_err_set(err, "%s: out of memory", p->name);
    size_t tried = 0; /* candidates below this were tried */
    for (;;) {
        size_t c = SIZE_MAX;
        for (unsigned s = 0; s < p->nslots; s++)
            if (p->head[s] >= tried && p->head[s] < c)
                c = p->head[s]; /* SIZE_MAX: that CPU is done */
        if (c == SIZE_MAX)
            return 0;
        tried = c + 1;
        if (!fits(p, &p->grp[c]))
            continue;
        size_t mark = p->nundo;
        uint64_t phash = p->phash;
        if (note_pages(p, &p->grp[c], true, err) < 0)
            return -1;
        p->head[p->slot[c]] = p->nxt[c];
        p->order[depth] = c;
        int r = tie_search(p, depth + 1, placed ^ placed_hash(c), err);
        if (r != 0)
            return r;
        p->head[p->slot[c]] = c;
        if (undo_to(p, mark, err) < 0)
            return -1;
        p->phash = phash;
        if (p->tie_cut)
            return 0;
    }
}

/* The tie rule.  Records of one time stamp from several CPUs: the kernel
 * keeps each CPU's own records in order, but the trace file (per-CPU
 * buffers merged by time stamp, kernel/trace/trace.c __find_next_entry;
 * trace-cmd's reader likewise) lists a tie CPU by CPU, whatever order the
 * CPUs' events had (TCG guests make such ties: import_qemu.c, pass 2).
 * The group goes out in the first order, in file order of the records
 * placed (lexicographically), that keeps each CPU's order and in which
 * every record fits the IOVA pages' state (fits()): an exact search over
 * the interleavings (depth first, each CPU's next record tried in file
 * order, states already left remembered), so a tie whose CPUs each need
 * the other's later records is untangled too.  A group that fits in file
 * order therefore keeps it; so does a group no order of which fits (or
 * whose search reaches FTRACE_TIE_NODES states), counted in
 * tie_unresolved.  Deterministic: it depends on the input alone (the
 * memo's 64-bit keys are hashes: two states sharing one would make the
 * search miss an order, with odds of about states^2 / 2^64). */
static int order_group(ftrace_parser_t *p, iosim_err_t *err)
{
    p->opos = 0;
    p->nslots = 0;
    /* each CPU's slot, 0..255 (all 256 CPUs the 8-bit cpu field names
     * may be in one group), UINT16_MAX: not seen yet */
    uint16_t slot_of[256];
    for (unsigned c = 0; c < 256; c++)
        slot_of[c] = UINT16_MAX;
    size_t last[256];
    for (size_t i = 0; i < p->glen; i++) {
        p->order[i] = i;
        p->nxt[i] = SIZE_MAX;
        unsigned cpu = p->grp[i].cpu;
        if (slot_of[cpu] == UINT16_MAX) {
            slot_of[cpu] = (uint16_t)p->nslots;
            p->head[p->nslots++] = i;
        } else {
            p->nxt[last[slot_of[cpu]]] = i;
        }
        p->slot[i] = (uint8_t)slot_of[cpu];
        last[slot_of[cpu]] = i;
    }
    if (p->nslots < 2)
        return 0; /* one CPU: its own order */
    /* file order, when it fits (most ties), without the memo */
    size_t i = 0;
    int rc = 0;
    p->phash = 0;
    while (i < p->glen && fits(p, &p->grp[i]) &&
           (rc = note_pages(p, &p->grp[i], true, err)) == 0)
        i++;
    if (rc < 0 || undo_to(p, 0, err) < 0)
        return -1;
    if (i == p->glen)
        return 0;
    if (u64map_init(&p->seen, 1024) < 0)
        return iosim_err_set(err, "%s: out of memory", p->name);
    p->phash = 0;
    p->nodes = 0;
    p->tie_cut = false;
    rc = tie_search(p, 0, 0, err);
    u64map_fini(&p->seen);
    if (rc < 0 || undo_to(p, 0, err) < 0)
        return -1;
    if (rc == 0) { /* no order fits: the file's */
        for (i = 0; i < p->glen; i++)
            p->order[i] = i;
        p->counts->tie_unresolved++;
        p->counts->tie_search_cut += p->tie_cut;
        return 0;
    }
    /* records placed while an earlier one of the file waited */
    size_t first = 0;
    bool *placed = calloc(p->glen, sizeof *placed);
    if (!placed)
        return iosim_err_set(err, "%s: out of memory", p->name);
    for (i = 0; i < p->glen; i++) {
        p->counts->tie_reordered += p->order[i] != first;
        placed[p->order[i]] = true;
        while (first < p->glen && placed[first])
            first++;
    }
    free(placed);
    return 0;
}

/* The group's next record in the rule's order; its pages noted. */
static int group_pop(ftrace_parser_t *p, iosim_rec_t *out, iosim_err_t *err)
{
    size_t i = p->order[p->opos++];
    *out = p->grp[i];
    p->line = p->gline[i];
    return note_pages(p, out, false, err) < 0 ? -1 : 1;
}

int ftrace_parser_next(ftrace_parser_t *p, iosim_rec_t *out, iosim_err_t *err)
{
    if (p->opos == p->glen) {
        int r = read_group(p, err);
        if (r <= 0)
            return r;
        if (order_group(p, err) < 0)
            return -1;
    }
    return group_pop(p, out, err);
}

int ftrace_parser_drain(ftrace_parser_t *p, iosim_err_t *err)
{
    iosim_rec_t r;
    if (p->glen && order_group(p, err) < 0)
        return -1;
    while (p->opos < p->glen)
        if (group_pop(p, &r, err) < 0 || import_sink_put(p->sink, &r, err) < 0)
            return -1;
    p->glen = p->opos = 0;
    return 0;
}

int ftrace_parser_put(ftrace_parser_t *p, const iosim_rec_t *r,
                      unsigned long where, iosim_err_t *err)
{
    if (p->glen && (r->t != p->grp[0].t || p->glen == FTRACE_TIE_MAX) &&
        ftrace_parser_drain(p, err) < 0)
        return -1;
    return group_add(p, r, where, err);
}

static int ftrace_run(FILE *f, const char *in_name, import_sink_t *sink,
                      const import_opts_t *opts, import_counts_t *counts,
                      iosim_err_t *err)
{
    import_in_t *in = import_in_new(f, in_name, err);
    if (!in)
        return -1;
    ftrace_parser_t *p =
        ftrace_parser_new(in, in_name, opts, sink, counts, err);
    if (!p) {
        import_in_free(in);
        return -1;
    }
    iosim_trace_meta_t *m = import_sink_meta(sink);
    snprintf(m->source, sizeof m->source, "ftrace");
    m->has_dma = 0;
    int rc = 0;
    iosim_rec_t r;
    for (;;) {
        int got = ftrace_parser_next(p, &r, err);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0)
            break;
        if (import_sink_put(sink, &r, err) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && m->cpus < ftrace_parser_cpus(p))
        m->cpus = ftrace_parser_cpus(p);
    ftrace_parser_free(p);
    import_in_free(in);
    return rc;
}

const import_source_t import_source_ftrace = {
    .name = "ftrace",
    .summary = "Linux ftrace text (trace file or trace-cmd report): "
               "iommu:map/unmap, intel_iommu:qi_submit, tracing_mark_write, "
               "dma:*map*",
    .reads_stdin = true,
    .run = ftrace_run,
    .implies_none = IMPORT_IMPLIES_NONE,
};
