/* cmd_stat.c — `iosim-trace stat TRACE [--format text|json]`.
 *
 * Concepts:
 *   - One streaming pass over the trace computes: records per kind (and
 *     INVAL per descriptor type, MARK per type), the MAP size histogram in
 *     power-of-two buckets [2^k, 2^(k+1)), the first/last time stamp, and
 *     the live mappings: a hash table keyed by (domain, iova) that MAP
 *     inserts and UNMAP removes, giving the peak of live bytes and of live
 *     mappings (each peak taken separately).
 *   - An UNMAP removes the mapping starting at its iova and, while the
 *     unmapped range is not yet covered, the mappings that follow it
 *     contiguously (Linux unmaps a range that several iommu_map() calls
 *     built with one iommu_unmap(), MODEL.md §1.2).
 *   - Nothing is printed until the whole trace has been read, so a bad
 *     trace gives an error and no partial report.
 * Assumptions:
 *   - IOVA spaces are per domain, so two domains may map the same IOVA.
 *   - A MAP at an IOVA already live in its domain replaces that mapping
 *     (counted in map.remapped).
 * Not modeled: partial unmaps that start inside a mapping (counted as
 *   unmatched).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"

#define STAT_BATCH 4096
#define STAT_HIST_BUCKETS 64

static const char prog[] = "iosim-trace";
/* usage errors: "iosim-trace stat: what", as every command's */
static const char who[] = "iosim-trace stat";

/* ------------------------------------------------------------------ */
/* Live mappings: open addressing, linear probing, backward-shift delete */
/* ------------------------------------------------------------------ */
typedef struct live_slot {
    uint64_t iova;
    uint64_t size;
    uint16_t domain;
    bool used;
} live_slot_t;

typedef struct live_map {
    live_slot_t *slots;
    size_t cap; /* power of two */
    size_t count;
} live_map_t;

static size_t live_hash(uint16_t domain, uint64_t iova, size_t cap)
{
    /* splitmix64 finalizer: IOVAs are page aligned, so mix the low bits */
    uint64_t x = iova ^ ((uint64_t)domain << 52) ^ ((uint64_t)domain << 7);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

static live_slot_t *live_find(live_map_t *m, uint16_t domain, uint64_t iova)
{
    for (size_t i = live_hash(domain, iova, m->cap);;
         i = (i + 1) & (m->cap - 1)) {
        live_slot_t *s = &m->slots[i];
        if (!s->used)
            return NULL;
        if (s->iova == iova && s->domain == domain)
            return s;
    }
}

static int live_grow(live_map_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    live_slot_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used)
            continue;
        size_t j = live_hash(m->slots[i].domain, m->slots[i].iova, ncap);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Inserts or replaces; returns the replaced size via *old (0 if new) and
 * whether it replaced. */
static int live_put(live_map_t *m, uint16_t domain, uint64_t iova,
                    uint64_t size, bool *replaced, uint64_t *old)
{
    if ((m->count + 1) * 2 > m->cap && live_grow(m))
        return -1;
    size_t i = live_hash(domain, iova, m->cap);
    while (m->slots[i].used) {
        if (m->slots[i].iova == iova && m->slots[i].domain == domain) {
            *replaced = true;
            *old = m->slots[i].size;
            m->slots[i].size = size;
            return 0;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i] = (live_slot_t){iova, size, domain, true};
    m->count++;
    *replaced = false;
    *old = 0;
    return 0;
}

static void live_remove(live_map_t *m, live_slot_t *s)
{
    size_t i = (size_t)(s - m->slots);
    size_t mask = m->cap - 1;
    m->slots[i].used = false;
    m->count--;
    /* Backward shift: move later entries of the cluster into the hole
     * when the hole lies between their home slot and where they are. */
    for (size_t j = (i + 1) & mask; m->slots[j].used; j = (j + 1) & mask) {
        size_t home = live_hash(m->slots[j].domain, m->slots[j].iova, m->cap);
        bool movable =
            (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            m->slots[i] = m->slots[j];
            m->slots[j].used = false;
            i = j;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */
typedef struct trace_stat {
    uint64_t total;
    uint64_t per_kind[IOSIM_REC_KIND_MAX + 1];
    uint64_t inval_desc[9]; /* index iosim_desc_type_t; 0 = other */
    uint64_t mark_type[4];  /* request, begin, end, other */
    uint64_t t_first, t_last, t_min, t_max, backwards;
    uint64_t hist[STAT_HIST_BUCKETS];
    uint64_t hist_zero;
    uint64_t live_bytes, peak_bytes, peak_count;
    uint64_t remapped, unmatched, size_mismatch;
    live_map_t live;
} trace_stat_t;

static unsigned log2_floor(uint64_t v)
{
    unsigned k = 0;
    while (v >>= 1)
        k++;
    return k;
}

static int stat_map(trace_stat_t *st, const iosim_rec_t *r)
{
    if (r->size == 0)
        st->hist_zero++;
    else
        st->hist[log2_floor(r->size)]++;
    bool replaced;
    uint64_t old;
    if (live_put(&st->live, r->domain, r->iova, r->size, &replaced, &old))
        return -1;
    st->remapped += replaced;
    st->live_bytes += r->size - old;
    if (st->live_bytes > st->peak_bytes)
        st->peak_bytes = st->live_bytes;
    if (st->live.count > st->peak_count)
        st->peak_count = st->live.count;
    return 0;
}

static void stat_unmap(trace_stat_t *st, const iosim_rec_t *r)
{
    uint64_t cur = r->iova, covered = 0;
    unsigned removed = 0;
    do {
        live_slot_t *s = live_find(&st->live, r->domain, cur);
        if (!s)
            break;
        uint64_t sz = s->size;
        live_remove(&st->live, s);
        st->live_bytes -= sz;
        covered += sz;
        removed++;
        if (sz == 0 || cur + sz < cur)
            break;
        cur += sz;
    } while (covered < r->size);
    if (removed == 0)
        st->unmatched++;
    else if (covered != r->size)
        st->size_mismatch++;
}

static int stat_record(trace_stat_t *st, const iosim_rec_t *r)
{
    if (st->total == 0) {
        st->t_first = st->t_min = st->t_max = r->t;
    } else {
        if (r->t < st->t_last)
            st->backwards++;
        if (r->t < st->t_min)
            st->t_min = r->t;
        if (r->t > st->t_max)
            st->t_max = r->t;
    }
    st->t_last = r->t;
    st->total++;
    st->per_kind[r->kind]++;
    switch (r->kind) {
    case IOSIM_REC_MAP:
        return stat_map(st, r);
    case IOSIM_REC_UNMAP:
        stat_unmap(st, r);
        break;
    case IOSIM_REC_INVAL:
        st->inval_desc[r->desc <= IOSIM_DESC_PDEVTLB ? r->desc : 0]++;
        break;
    case IOSIM_REC_MARK:
        st->mark_type[r->flags <= IOSIM_MARK_END ? r->flags : 3]++;
        break;
    default:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
static const char *const desc_label[9] = {
    "other", "cc", "iotlb", "devtlb", "iec", "wait", "piotlb", "pc", "pdevtlb",
};
static const char *const mark_label[4] = {"request", "begin", "end", "other"};

typedef struct named_u64 {
    const char *name;
    uint64_t value;
} named_u64_t;

static void print_group(FILE *f, bool json, const char *group,
                        const named_u64_t *v, size_t n, bool last)
{
    if (json)
        fprintf(f, "  \"%s\": {", group);
    for (size_t i = 0; i < n; i++) {
        if (json)
            fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", v[i].name,
                    v[i].value);
        else
            fprintf(f, "%s.%s = %" PRIu64 "\n", group, v[i].name, v[i].value);
    }
    if (json)
        fprintf(f, "}%s\n", last ? "" : ",");
}

static void stat_print(FILE *f, bool json, const char *path,
                       const iosim_trace_meta_t *m, const trace_stat_t *st)
{
    // clang-format off
    const char *const mstr[][2] = {
        {"source", m->source},     {"kernel", m->kernel},
        {"policy", m->policy},     {"workload", m->workload},
        {"time_unit", m->time_unit},
    };
    // clang-format on
    if (json) {
        fprintf(f, "{\n  \"trace\": ");
        json_write_string(f, path);
        fprintf(f, ",\n  \"meta\": {");
        for (size_t i = 0; i < 5; i++) {
            fprintf(f, "%s\"%s\": ", i ? ", " : "", mstr[i][0]);
            json_write_string(f, mstr[i][1]);
        }
        fprintf(f,
                ", \"cpus\": %" PRIu32 ", \"has_dma\": %" PRIu32
                ", \"requests\": %" PRIu64,
                m->cpus, m->has_dma, m->requests);
        if (m->device[0]) {
            fprintf(f, ", \"device\": ");
            json_write_string(f, m->device);
        }
        if (m->retimed[0]) {
            fprintf(f, ", \"retimed\": ");
            json_write_string(f, m->retimed);
        }
        for (uint32_t i = 0; i < m->n_refs; i++)
            fprintf(f, ", \"ref.%s\": %" PRIu64, m->refs[i].name,
                    m->refs[i].value);
        for (uint32_t i = 0; i < m->n_implies; i++) {
            fprintf(f, ", \"implies.%s\": ", m->implies[i].key);
            json_write_string(f, m->implies[i].value);
        }
        fprintf(f, "},\n");
    } else {
        fprintf(f, "# iosim-trace stat %s\n", path);
        for (size_t i = 0; i < 5; i++)
            fprintf(f, "meta.%s = %s\n", mstr[i][0], mstr[i][1]);
        fprintf(f,
                "meta.cpus = %" PRIu32 "\nmeta.has_dma = %" PRIu32
                "\nmeta.requests = %" PRIu64 "\n",
                m->cpus, m->has_dma, m->requests);
        if (m->device[0]) /* only when set: older outputs keep their bytes */
            fprintf(f, "meta.device = %s\n", m->device);
        if (m->retimed[0])
            fprintf(f, "meta.retimed = %s\n", m->retimed);
        for (uint32_t i = 0; i < m->n_refs; i++)
            fprintf(f, "meta.ref.%s = %" PRIu64 "\n", m->refs[i].name,
                    m->refs[i].value);
        for (uint32_t i = 0; i < m->n_implies; i++)
            fprintf(f, "meta.implies.%s = %s\n", m->implies[i].key,
                    m->implies[i].value);
    }

    /* indexed by iosim_rec_kind_t; lower-case of iosim_rec_kind_name() */
    static const char *const kind_label[IOSIM_REC_KIND_MAX + 1] = {
        "total", "map", "unmap", "dma", "inval", "mark",
    };
    named_u64_t rec[IOSIM_REC_KIND_MAX + 1];
    for (unsigned k = 0; k <= IOSIM_REC_KIND_MAX; k++)
        rec[k] = (named_u64_t){kind_label[k], k ? st->per_kind[k] : st->total};
    print_group(f, json, "records", rec, IOSIM_REC_KIND_MAX + 1, false);

    named_u64_t inval[9];
    for (unsigned d = 0; d < 9; d++)
        inval[d] =
            (named_u64_t){desc_label[(d + 1) % 9], st->inval_desc[(d + 1) % 9]};
    print_group(f, json, "inval", inval, 9, false);
    named_u64_t mark[4];
    for (unsigned i = 0; i < 4; i++)
        mark[i] = (named_u64_t){mark_label[i], st->mark_type[i]};
    print_group(f, json, "mark", mark, 4, false);

    // clang-format off
    named_u64_t time[] = {
        {"first", st->t_first},
        {"last", st->t_last},
        {"duration", st->t_max - st->t_min},
        {"backwards", st->backwards},
    };
    // clang-format on
    print_group(f, json, "time", time, 4, false);

    /* map size histogram: only non-empty buckets */
    if (json)
        fprintf(f, "  \"map_size_hist\": [");
    bool first = true;
    if (st->hist_zero) {
        if (json)
            fprintf(f, "{\"lo\": 0, \"hi\": 0, \"count\": %" PRIu64 "}",
                    st->hist_zero);
        else
            fprintf(f, "map_size[0] = %" PRIu64 "\n", st->hist_zero);
        first = false;
    }
    for (unsigned k = 0; k < STAT_HIST_BUCKETS; k++) {
        if (!st->hist[k])
            continue;
        uint64_t lo = 1ULL << k;
        uint64_t hi = lo + (lo - 1); /* inclusive, no overflow at k=63 */
        if (json)
            fprintf(f,
                    "%s{\"lo\": %" PRIu64 ", \"hi\": %" PRIu64
                    ", \"count\": %" PRIu64 "}",
                    first ? "" : ", ", lo, hi, st->hist[k]);
        else
            fprintf(f, "map_size[%" PRIu64 "..%" PRIu64 "] = %" PRIu64 "\n", lo,
                    hi, st->hist[k]);
        first = false;
    }
    if (json)
        fprintf(f, "],\n");

    // clang-format off
    named_u64_t live[] = {
        {"peak_bytes", st->peak_bytes},
        {"peak_count", st->peak_count},
        {"end_bytes", st->live_bytes},
        {"end_count", st->live.count},
    };
    // clang-format on
    print_group(f, json, "live", live, 4, false);
    // clang-format off
    named_u64_t anomalies[] = {
        {"remapped", st->remapped},
        {"unmatched_unmaps", st->unmatched},
        {"unmap_size_mismatch", st->size_mismatch},
    };
    // clang-format on
    print_group(f, json, "check", anomalies, 3, true);
    if (json)
        fprintf(f, "}\n");
}

int cmd_stat(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *fmt = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s stat TRACE [--format text|json]\n"
                   "  Counts per kind, map-size histogram, peak live "
                   "mappings, duration, metadata.\n" CLI_EXIT_STATUS_HELP,
                   prog);
            return 0;
        }
        if (!strcmp(argv[i], "--format")) {
            if (++i >= argc) {
                cli_error(who, "--format needs text or json");
                return IOSIM_EXIT_BAD_INPUT;
            }
            fmt = argv[i];
        } else if (!strncmp(argv[i], "--format=", 9)) {
            fmt = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error(who, "unknown option '%s'", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!path) {
            path = argv[i];
            continue;
        } else {
            cli_error(who, "more than one trace ('%s')", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        }
        iosim_format_t f;
        if (cli_parse_format(fmt, &f) || f == IOSIM_FMT_CSV) {
            cli_error(who, "--format %s: expected text or json", fmt);
            return IOSIM_EXIT_BAD_INPUT;
        }
        json = (f == IOSIM_FMT_JSON);
    }
    if (!path) {
        cli_error(who,
                  "no trace given (usage: %s stat TRACE [--format "
                  "text|json]; try --help)",
                  prog);
        return IOSIM_EXIT_BAD_INPUT;
    }

    iosim_err_t err;
    iosim_trace_reader_t *r = iosim_trace_open(path, &err);
    if (!r) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    trace_stat_t *st = calloc(1, sizeof *st);
    iosim_rec_t *batch = malloc(STAT_BATCH * sizeof *batch);
    int status = 0;
    if (!st || !batch || live_grow(&st->live)) {
        cli_error(prog, "out of memory");
        status = CLI_EXIT_OOM;
        goto out;
    }
    long n;
    while ((n = iosim_trace_read(r, batch, STAT_BATCH, &err)) > 0)
        for (long i = 0; i < n; i++)
            if (stat_record(st, &batch[i])) {
                cli_error(prog, "out of memory");
                status = CLI_EXIT_OOM;
                goto out;
            }
    if (n < 0) {
        cli_error(prog, "%s", err.msg);
        status = IOSIM_EXIT_BAD_INPUT;
        goto out;
    }
    stat_print(stdout, json, path, iosim_trace_meta(r), st);
    if (fflush(stdout) != 0) {
        cli_error(prog, "stat: cannot write the report: %s",
                  iosim_errno_str(errno));
        status = IOSIM_EXIT_BAD_INPUT;
    }
out:
    if (st)
        free(st->live.slots);
    free(st);
    free(batch);
    iosim_trace_close(r);
    return status;
}
