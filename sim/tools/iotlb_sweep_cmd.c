/* iotlb_sweep_cmd.c — `iosim iotlb-sweep`: the IOTLB counters of every
 * (sets, ways) of a grid as CSV, from one pass when exact
 * (sweep/iotlb_sweep.h).  Bad input: one line, exit 2, no table. */
#include <stdlib.h>
#include <string.h>

#include "sweep/iotlb_sweep.h"
#include "tools/cli_util.h"
#include "tools/iotlb_sweep_cmd.h"

#define PROG "iosim iotlb-sweep"
#define MAX_GRID 1024 /* values per list */
#define MAX_SETS_ARGS 64

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iosim iotlb-sweep --sets LIST --ways LIST [OPTIONS] TRACE\n"
        "The IOTLB counters (lookups, hits, misses, evictions, invalidated)\n"
        "of every sets x ways of a grid under LRU (or those of the PDE cache:\n"
        "--cache psc_pd, psc_pdpt, psc_pml4), as CSV on stdout, one row\n"
        "per point.  One replay gives every point (stack-distance simulation,\n"
        "Mattson et al. 1970) when that is exact: LRU replacement,\n"
        "vtd.inval_walks_in_flight=complete, and a trace whose IOTLB input\n"
        "does not depend on the geometry (checked as it runs); otherwise\n"
        "each point runs as its own sim.  The rows are the same either way.\n\n"
        "options:\n"
        "  --sets LIST       set counts: N,M,... or A-B (the powers of two\n"
        "                    from A to B); powers of two\n"
        "  --ways LIST       way counts: N,M,... or A-B (every count A..B)\n"
        "  --cache C         iotlb (default), psc_pd, psc_pdpt or psc_pml4:\n"
        "                    a paging-structure cache (PDE, PDPTE, PML4E:\n"
        "                    vtd.psc_pd ...), the IOTLB and the other caches\n"
        "                    as configured; as separate sims only its misses\n"
        "                    are known (psc.l3/l2/l1_misses), the other\n"
        "                    fields are empty\n"
        "  --psc-sets LIST, --psc-ways LIST\n"
        "                    with the IOTLB's grid, every geometry of the PDE\n"
        "                    cache too (IOTLB x PDE points): one sim per\n"
        "                    IOTLB geometry gives all PDE geometries when\n"
        "                    exact (LRU PDE cache, walks in flight complete),\n"
        "                    else one per point; columns psc_* follow\n"
        "  -c, --config F    base configuration (default: built-in)\n"
        "  --set KEY=VALUE   override a parameter of the base (repeatable)\n"
        "  --plain           run every point as its own sim (the check of\n"
        "                    the one pass)\n"
        "  --threads N       worker threads for the sims (0 = one per CPU;\n"
        "                    default 1); a one-pass grid's shadow is\n"
        "                    updated on a thread of its own, the others\n"
        "                    decode the trace ahead\n"
        "  -h, --help        this text\n"
        "stderr says which way the rows were "
        "computed.\n\n" CLI_EXIT_STATUS_HELP);
}

/* "N,M,A-B": into v (at most MAX_GRID); pow2 ranges step by doubling. */
static int parse_list(const char *s, bool pow2, uint32_t *v, size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                return -1;
            b = strtoul(end + 1, &end, 10);
        }
        if (a == 0 || b < a || b > (1ul << 24) || (*end && *end != ','))
            return -1;
        for (unsigned long x = a; x <= b; x = pow2 ? 2 * x : x + 1) {
            if (pow2 && (x & (x - 1)))
                return -1;
            for (size_t k = 0; k < *n; k++)
                if (v[k] == x)
                    return -1;
            if (*n == MAX_GRID)
                return -1;
            v[(*n)++] = (uint32_t)x;
        }
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p)
            return -1;
    }
    return *n ? 0 : -1;
}

/* One row's cells: sets, ways, entries and the counters (only the misses
 * when the sims gave only those). */
static void print_cells(const iotlb_sweep_row_t *r)
{
    if (r->misses_only) {
        printf("%u,%u,%llu,,,%llu,,", r->sets, r->ways,
               (unsigned long long)r->sets * r->ways,
               (unsigned long long)r->misses);
        return;
    }
    printf("%u,%u,%llu,%llu,%llu,%llu,%llu,%llu", r->sets, r->ways,
           (unsigned long long)r->sets * r->ways,
           (unsigned long long)r->lookups, (unsigned long long)r->hits,
           (unsigned long long)r->misses, (unsigned long long)r->evictions,
           (unsigned long long)r->invalidated);
}

static uint32_t sets[MAX_GRID], ways[MAX_GRID], psets[MAX_GRID],
    pways[MAX_GRID];
static size_t nsets, nways, npsets, npways;

/* The grid's list options: sets are powers of two, ways any count. */
typedef struct grid_opt {
    const char *name;
    bool pow2;
    uint32_t *v;
    size_t *n;
} grid_opt_t;

static const grid_opt_t grid_opts[] = {
    {"--sets", true, sets, &nsets},
    {"--ways", false, ways, &nways},
    {"--psc-sets", true, psets, &npsets},
    {"--psc-ways", false, pways, &npways},
};

static const grid_opt_t *grid_option(const char *a)
{
    for (size_t k = 0; k < sizeof grid_opts / sizeof grid_opts[0]; k++)
        if (!strcmp(a, grid_opts[k].name))
            return &grid_opts[k];
    return NULL;
}

int iotlb_sweep_main(int argc, char **argv)
{
    size_t nsetargs = 0;
    const char *config = NULL, *trace = NULL, *setargs[MAX_SETS_ARGS];
    bool plain = false;
    iotlb_sweep_cache_t which = IOTLB_SWEEP_IOTLB;
    unsigned long threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (grid_option(a) && has_next) {
            const grid_opt_t *g = grid_option(a);
            if (parse_list(argv[++i], g->pow2, g->v, g->n)) {
                cli_error(PROG, "%s %s: %s (distinct, at most %d)", a, argv[i],
                          g->pow2 ? "expected powers of two N,M,... or A-B"
                                  : "expected counts N,M,... or A-B, at "
                                    "least 1",
                          MAX_GRID);
                return 2;
            }
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_next) {
            config = argv[++i];
        } else if (!strcmp(a, "--set") && has_next) {
            if (nsetargs == MAX_SETS_ARGS) {
                cli_error(PROG, "--set: at most %d", MAX_SETS_ARGS);
                return 2;
            }
            setargs[nsetargs++] = argv[++i];
        } else if (!strcmp(a, "--cache") && has_next) {
            i++;
            if (!strcmp(argv[i], "iotlb")) {
                which = IOTLB_SWEEP_IOTLB;
            } else if (!strcmp(argv[i], "psc_pd")) {
                which = IOTLB_SWEEP_PSC_PD;
            } else if (!strcmp(argv[i], "psc_pdpt")) {
                which = IOTLB_SWEEP_PSC_PDPT;
            } else if (!strcmp(argv[i], "psc_pml4")) {
                which = IOTLB_SWEEP_PSC_PML4;
            } else {
                cli_error(PROG,
                          "--cache %s: expected iotlb, psc_pd, psc_pdpt or "
                          "psc_pml4",
                          argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--plain")) {
            plain = true;
        } else if (!strcmp(a, "--threads") && has_next) {
            char *end;
            threads = strtoul(argv[++i], &end, 10);
            if (!argv[i][0] || *end || threads > 1024) {
                cli_error(PROG,
                          "--threads: '%s' is not a thread count "
                          "(0 = one per CPU, at most 1024)",
                          argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error(PROG,
                      "%s: unknown option or missing value (see "
                      "iosim iotlb-sweep --help)",
                      a);
            return 2;
        } else if (!trace) {
            trace = a;
        } else {
            cli_error(PROG, "%s: a second trace (one at a time)", a);
            return 2;
        }
    }
    if (!trace || !nsets || !nways) {
        cli_error(PROG, "needs --sets, --ways and a trace (see iosim "
                        "iotlb-sweep --help)");
        return 2;
    }
    if (!npsets != !npways) {
        cli_error(PROG, "--psc-sets and --psc-ways go together");
        return 2;
    }
    if (npsets && which != IOTLB_SWEEP_IOTLB) {
        cli_error(PROG, "--psc-sets, --psc-ways: the grid is the IOTLB's "
                        "with the PDE cache's (not with --cache psc_pd)");
        return 2;
    }
    if (npsets) /* points beyond a million would not fit the tables */
        if ((uint64_t)nsets * nways * npsets * npways > 1000000) {
            cli_error(PROG, "--sets x --ways x --psc-sets x --psc-ways: "
                            "more than 1,000,000 points");
            return 2;
        }
    iosim_err_t err = {0};
    iosim_config_t *cfg = iosim_config_new();
    if (!cfg) {
        cli_error(PROG, "out of memory");
        return CLI_EXIT_OOM;
    }
    int status = 2;
    iotlb_psc_row_t *rows = NULL;
    iotlb_sweep_row_t *rows1 = NULL; /* the IOTLB's grid alone */
    if (config && iosim_config_load(cfg, config, &err)) {
        cli_error(PROG, "%s", err.msg);
        goto out;
    }
    for (size_t k = 0; k < nsetargs; k++)
        if (iosim_config_set(cfg, setargs[k], &err)) {
            cli_error(PROG, "%s", err.msg);
            goto out;
        }
    size_t npoints = nsets * nways * (npsets ? npsets * npways : 1);
    rows = calloc(npoints, sizeof *rows);
    rows1 = npsets ? NULL : calloc(npoints, sizeof *rows1);
    if (!rows || (!npsets && !rows1)) {
        cli_error(PROG, "out of memory");
        status = CLI_EXIT_OOM;
        goto out;
    }
    bool one_pass;
    char why[128];
    iotlb_sweep_method_t method = plain ? IOTLB_SWEEP_PLAIN : IOTLB_SWEEP_AUTO;
    int rc = npsets ? iotlb_psc_sweep_run(cfg, trace, sets, nsets, ways, nways,
                                          psets, npsets, pways, npways, method,
                                          (unsigned)threads, rows, &one_pass,
                                          why, &err)
                    : iotlb_sweep_run(cfg, trace, which, sets, nsets, ways,
                                      nways, method, (unsigned)threads, rows1,
                                      &one_pass, why, &err);
    if (rc) {
        cli_error(PROG, "%s", err.msg);
        goto out;
    }
    printf("sets,ways,entries,lookups,hits,misses,evictions,invalidated%s\n",
           npsets ? ",psc_sets,psc_ways,psc_entries,psc_lookups,psc_hits,"
                    "psc_misses,psc_evictions,psc_invalidated"
                  : "");
    for (size_t k = 0; k < npoints; k++) {
        print_cells(rows1 ? &rows1[k] : &rows[k].iotlb);
        if (npsets) {
            putchar(',');
            print_cells(&rows[k].pde);
        }
        putchar('\n');
    }
    /* a table that cannot be written: exit 2 and its one line (was exit
     * 1, no line); the note below only when the table was written */
    status = cli_flush_stdout(PROG);
    if (status)
        goto out;
    if (one_pass && npsets)
        fprintf(stderr,
                "%s: %zu points from one pass per IOTLB geometry (%zu; "
                "exact)\n",
                PROG, npoints, nsets * nways);
    else if (one_pass)
        fprintf(stderr, "%s: %zu points from one pass (exact)\n", PROG,
                npoints);
    else
        fprintf(stderr, "%s: %zu points as separate sims: %s\n", PROG, npoints,
                why);
out:
    free(rows);
    free(rows1);
    iosim_config_free(cfg);
    return status;
}
