/* test_import_ties.c — the ftrace importers' tie rule (import_ftrace.c,
 * order_group): hand-made equal-timestamp groups of several CPUs, run
 * through the text parser (ftrace_parser_next).
 *
 * Concepts: the expected order of a group is found by brute force over
 *   every interleaving of its CPUs' records (each CPU's order kept): of
 *   those in which no record maps a live page or unmaps a freed one
 *   (starting from the pages' state the records before the group leave),
 *   the first in file order of the records placed (lexicographically);
 *   none: the file's order.  The rule this search replaced (greedy: the
 *   earliest fitting record of each CPU's next, no look-ahead) is run too
 *   on the groups made for it, to show that it leaves an inconsistency
 *   there.  Groups too long for brute force (the search's bound, all
 *   256 CPUs) have their order reasoned by hand in their comments.
 *   Nothing is taken from the importer's own output.
 * Assumptions: a group's file order is the trace file's, CPU by CPU
 *   (kernel/trace/trace.c __find_next_entry); the cases are written in it.
 * Not modeled: the trace-cmd reader (tests/cli/tracecmd_import.sh checks
 *   that it gives the text parser's records on a tie).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/import.h"

/* One event of a case: cpu, 'M' map / 'U' unmap / 'Q' an IOTLB
 * invalidation of iova (qi_submit), its IOVA range. */
typedef struct tev {
    uint8_t cpu;
    char kind;
    uint64_t iova, size;
} tev_t;

#define MAXEV 16
#define T_GROUP 2000000000u /* the group's time stamp, ns */

/* ---------------------------------------------------------------- */
/* the text and the importer                                        */
/* ---------------------------------------------------------------- */
static size_t put_line(char *buf, size_t cap, const tev_t *e, uint64_t t)
{
    const char *head = "          <idle>-0       [";
    unsigned s = (unsigned)(t / 1000000000u), ns = (unsigned)(t % 1000000000u);
    int n;
    if (e->kind == 'M')
        n = snprintf(buf, cap,
                     "%s%03u] ..s1. %u.%09u: map: IOMMU: iova=0x%016llx - "
                     "0x%016llx paddr=0x0000000001000000 size=%llu\n",
                     head, e->cpu, s, ns, (unsigned long long)e->iova,
                     (unsigned long long)(e->iova + e->size),
                     (unsigned long long)e->size);
    else if (e->kind == 'U')
        n = snprintf(buf, cap,
                     "%s%03u] ..s1. %u.%09u: unmap: IOMMU: iova=0x%016llx - "
                     "0x%016llx size=%llu unmapped_size=%llu\n",
                     head, e->cpu, s, ns, (unsigned long long)e->iova,
                     (unsigned long long)(e->iova + e->size),
                     (unsigned long long)e->size, (unsigned long long)e->size);
    else
        n = snprintf(buf, cap,
                     "%s%03u] ..s1. %u.%09u: qi_submit: iotlb_inv dmar0: "
                     "0x600f2 0x%llx 0x0 0x0\n",
                     head, e->cpu, s, ns, (unsigned long long)e->iova);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* The records the text parser returns for text (at most max). */
static size_t parse_text(const char *text, iosim_rec_t *out, size_t max,
                         import_counts_t *c)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    iosim_err_t err = {0};
    import_in_t *in = import_in_new(f, "ties.txt", &err);
    assert_non_null(in);
    import_opts_t o = {0};
    o.device = 0x0100;
    o.domain = -1;
    ftrace_parser_t *p = ftrace_parser_new(in, "ties.txt", &o, NULL, c, &err);
    assert_non_null(p);
    size_t n = 0;
    int r;
    while ((r = ftrace_parser_next(p, &out[n], &err)) == 1)
        assert_true(++n < max);
    if (r < 0)
        fail_msg("parse: %s", err.msg);
    ftrace_parser_free(p);
    import_in_free(in);
    fclose(f);
    return n;
}

/* ---------------------------------------------------------------- */
/* pages' state, by hand                                            */
/* ---------------------------------------------------------------- */
typedef struct pages {
    uint64_t page[64];
    char st[64]; /* 'L' live, 'F' free */
    size_t n;
} pages_t;

static char *page_state(pages_t *s, uint64_t page)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->page[i] == page)
            return &s->st[i];
    return NULL;
}

/* Applies e; false if it maps a live page or unmaps a freed one. */
static bool apply(pages_t *s, const tev_t *e)
{
    if (e->kind == 'Q')
        return true;
    bool ok = true;
    for (uint64_t pg = e->iova >> 12; pg < (e->iova + e->size + 4095) >> 12;
         pg++) {
        char *st = page_state(s, pg);
        if (!st) {
            assert_true(s->n < 64);
            s->page[s->n] = pg;
            st = &s->st[s->n++];
            *st = 0;
        }
        if (*st == (e->kind == 'M' ? 'L' : 'F'))
            ok = false;
        *st = e->kind == 'M' ? 'L' : 'F';
    }
    return ok;
}

/* ---------------------------------------------------------------- */
/* brute force and the greedy rule                                  */
/* ---------------------------------------------------------------- */
typedef struct brute {
    const tev_t *g;
    size_t n;
    pages_t start;
    size_t cur[MAXEV], best[MAXEV];
    bool placed[MAXEV], found;
    size_t orders, consistent;
} brute_t;

/* Every interleaving: the next record is any CPU's first unplaced one. */
static void interleave(brute_t *b, size_t depth)
{
    if (depth == b->n) {
        b->orders++;
        pages_t s = b->start;
        bool ok = true;
        for (size_t k = 0; k < b->n; k++)
            ok &= apply(&s, &b->g[b->cur[k]]);
        if (!ok)
            return;
        b->consistent++;
        if (!b->found || memcmp(b->cur, b->best, sizeof b->cur) < 0)
            memcpy(b->best, b->cur, sizeof b->cur);
        b->found = true;
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->placed[i])
            continue;
        bool first = true; /* of its CPU among the unplaced */
        for (size_t j = 0; j < i; j++)
            first &= b->placed[j] || b->g[j].cpu != b->g[i].cpu;
        if (!first)
            continue;
        b->placed[i] = true;
        b->cur[depth] = i;
        interleave(b, depth + 1);
        b->placed[i] = false;
    }
}

/* The rule before the search: of each CPU's next record, the earliest in
 * file order that fits, else the earliest.  True if its order is
 * consistent. */
static bool greedy_consistent(const tev_t *g, size_t n, pages_t s)
{
    bool placed[MAXEV] = {false}, ok = true;
    for (size_t k = 0; k < n; k++) {
        size_t pick = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            bool first = !placed[i];
            for (size_t j = 0; j < i && first; j++)
                first = placed[j] || g[j].cpu != g[i].cpu;
            if (!first)
                continue;
            if (pick == SIZE_MAX)
                pick = i; /* the earliest: taken if none fits */
            pages_t t = s;
            if (apply(&t, &g[i])) {
                pick = i;
                break;
            }
        }
        placed[pick] = true;
        ok &= apply(&s, &g[pick]);
    }
    return ok;
}

/* ---------------------------------------------------------------- */
/* a case                                                           */
/* ---------------------------------------------------------------- */
/* history (one record a microsecond from 1 s on), then the group at 2 s
 * in file order; the importer's records of the group are checked against
 * the brute force's order.  Returns the brute force's result. */
static brute_t run_case(const tev_t *hist, size_t nh, const tev_t *g, size_t n,
                        import_counts_t *c)
{
    assert_true(n <= MAXEV);
    for (size_t i = 1; i < n; i++) /* the trace file's order */
        assert_true(g[i - 1].cpu <= g[i].cpu);
    static char text[1 << 14];
    size_t len = snprintf(text, sizeof text, "# tracer: nop\n");
    brute_t b = {.g = g, .n = n};
    for (size_t i = 0; i < nh; i++) {
        len += put_line(text + len, sizeof text - len, &hist[i],
                        1000000000u + 1000u * i);
        assert_true(apply(&b.start, &hist[i])); /* a consistent history */
    }
    for (size_t i = 0; i < n; i++)
        len += put_line(text + len, sizeof text - len, &g[i], T_GROUP);
    interleave(&b, 0);
    if (!b.found) /* none fits: the file's order */
        for (size_t i = 0; i < n; i++)
            b.best[i] = i;
    iosim_rec_t got[64];
    size_t ng = parse_text(text, got, 64, c);
    assert_int_equal(ng, nh + n);
    for (size_t k = 0; k < n; k++) {
        const iosim_rec_t *r = &got[nh + k];
        const tev_t *e = &g[b.best[k]];
        assert_int_equal(r->t, T_GROUP);
        assert_int_equal(r->cpu, e->cpu);
        assert_int_equal(r->kind, e->kind == 'M'   ? IOSIM_REC_MAP
                                  : e->kind == 'U' ? IOSIM_REC_UNMAP
                                                   : IOSIM_REC_INVAL);
        assert_int_equal(r->iova, e->iova);
    }
    /* records placed while an earlier one of the file waited */
    size_t moved = 0, first = 0;
    bool placed[MAXEV] = {false};
    for (size_t k = 0; k < n; k++) {
        moved += b.best[k] != first;
        placed[b.best[k]] = true;
        while (first < n && placed[first])
            first++;
    }
    assert_int_equal(c->tie_reordered, moved);
    assert_int_equal(c->tie_unresolved, b.found ? 0 : 1);
    return b;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define A 0xa000u
#define B 0xb000u
#define C 0xc000u

/* A group the greedy rule leaves inconsistent and the search untangles:
 * the importer's order is the brute force's (run_case), which is want
 * (the order reasoned by hand, as group indices) and one of `orders`
 * interleavings. */
static void greedy_fails_search_does_not(const tev_t *hist, size_t nh,
                                         const tev_t *g, size_t n,
                                         const size_t *want, size_t orders)
{
    pages_t s = {0};
    for (size_t i = 0; i < nh; i++)
        apply(&s, &hist[i]);
    assert_false(greedy_consistent(g, n, s));
    import_counts_t c = {0};
    brute_t b = run_case(hist, nh, g, n, &c);
    assert_true(b.found);
    assert_int_equal(b.orders, orders);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(b.best[k], want[k]);
}

/* traces/raw/nginx-strict's tie at 49.963657, cut down: A live, B free
 * before it; CPU 0 unmaps A (+ its IOTLB flush) and B; CPU 1 unmaps A,
 * maps A and B.  CPU 0's unmap of A fits first, but after it CPU 1's
 * unmap of A never can: the greedy rule took it and stuck.  By hand: 3
 * (CPU 1's unmap of A), 4 (its map: 0 does not fit a freed A), 0, 1, 5
 * (2 does not fit a free B), 2. */
static void test_tie_each_needs_the_other(void **state)
{
    (void)state;
    static const tev_t hist[] = {
        {1, 'M', A, 4096}, {1, 'M', B, 4096}, {1, 'U', B, 4096}};
    static const tev_t g[] = {{0, 'U', A, 4096}, {0, 'Q', A, 0},
                              {0, 'U', B, 4096}, {1, 'U', A, 4096},
                              {1, 'M', A, 4096}, {1, 'M', B, 4096}};
    static const size_t want[] = {3, 4, 0, 1, 5, 2};
    greedy_fails_search_does_not(hist, N(hist), g, N(g), want, 20); /* C(6,3) */
}

/* Three CPUs, A, B, C live before: CPU 0 unmaps A, B; CPU 1 unmaps B,
 * maps B, unmaps C; CPU 2 unmaps C, maps C, maps A, unmaps A.  Greedy
 * takes CPU 0's two unmaps first and CPU 1 can never unmap B.  By hand:
 * 0 (A is mapped again by 7 later), not 1 (2 could never unmap B) but 2,
 * 3, then 1; not 4 (5 could never unmap C) but 5, 6, then 4, 7, 8. */
static void test_tie_three_cpus(void **state)
{
    (void)state;
    static const tev_t hist[] = {
        {0, 'M', A, 4096}, {0, 'M', B, 4096}, {0, 'M', C, 4096}};
    static const tev_t g[] = {
        {0, 'U', A, 4096}, {0, 'U', B, 4096}, {1, 'U', B, 4096},
        {1, 'M', B, 4096}, {1, 'U', C, 4096}, {2, 'U', C, 4096},
        {2, 'M', C, 4096}, {2, 'M', A, 4096}, {2, 'U', A, 4096}};
    static const size_t want[] = {0, 2, 3, 1, 5, 6, 4, 7, 8};
    greedy_fails_search_does_not(hist, N(hist), g, N(g), want,
                                 1260); /* 9! / (2! 3! 4!) */
}

/* Ranges: a 2-page mapping [0x20000, 0x22000) live before; CPU 0 unmaps
 * it whole, CPU 1 unmaps and maps again its second page.  Greedy: CPU 0
 * first, then CPU 1's unmap of a freed page.  By hand: 2, 3 (0 does not
 * fit the freed second page), 0, 1. */
static void test_tie_ranges(void **state)
{
    (void)state;
    static const tev_t hist[] = {{0, 'M', 0x20000, 8192}};
    static const tev_t g[] = {{0, 'U', 0x20000, 8192},
                              {0, 'M', 0x30000, 4096},
                              {1, 'U', 0x21000, 4096},
                              {1, 'M', 0x21000, 4096}};
    static const size_t want[] = {2, 3, 0, 1};
    greedy_fails_search_does_not(hist, N(hist), g, N(g), want, 6);
}

/* No order fits: two CPUs map A, live already.  File order, counted. */
static void test_tie_none_fits(void **state)
{
    (void)state;
    static const tev_t hist[] = {{0, 'M', A, 4096}};
    static const tev_t g[] = {
        {0, 'Q', B, 0}, {0, 'M', A, 4096}, {1, 'M', A, 4096}, {1, 'Q', C, 0}};
    import_counts_t c = {0};
    brute_t b = run_case(hist, N(hist), g, N(g), &c);
    assert_false(b.found);
    assert_int_equal(c.tie_reordered, 0);
    assert_int_equal(c.tie_search_cut, 0);
}

/* A long group through the text parser: A mapped at 1 s, then ev(i,
 * arg) for i < n at T_GROUP.  Returns the n + 1 records (the caller
 * frees them). */
static iosim_rec_t *parse_long_group(size_t n, tev_t (*ev)(size_t, size_t),
                                     size_t arg, import_counts_t *c)
{
    size_t cap = 200 * (n + 2);
    char *text = malloc(cap);
    iosim_rec_t *got = malloc((n + 2) * sizeof *got);
    assert_true(text && got);
    tev_t map0 = {0, 'M', A, 4096};
    size_t len = put_line(text, cap, &map0, 1000000000u);
    for (size_t i = 0; i < n; i++) {
        tev_t e = ev(i, arg);
        len += put_line(text + len, cap - len, &e, T_GROUP);
    }
    assert_int_equal(parse_text(text, got, n + 2, c), n + 1);
    free(text);
    return got;
}

/* test_tie_search_bound's events: per CPU, per - 1 flushes, a map of A */
static tev_t bound_ev(size_t i, size_t per)
{
    bool last = i % per == per - 1;
    return (tev_t){(uint8_t)(i / per), last ? 'M' : 'Q',
                   last ? A : 0x100000 + 4096 * i, last ? 4096 : 0};
}

/* The search's bound: 1023 records of one stamp (FTRACE_TIE_MAX 1024),
 * three CPUs each with 340 flushes then a map of A, live already: no
 * order fits, and the search would expand 341^3 (39.7 million) states,
 * more than FTRACE_TIE_NODES (2^19 = 524,288): it stops there, file
 * order, counted. */
static void test_tie_search_bound(void **state)
{
    (void)state;
    const size_t per = 341, n = 3 * per; /* per CPU: 340 flushes, a map */
    import_counts_t c = {0};
    iosim_rec_t *got = parse_long_group(n, bound_ev, per, &c);
    for (size_t i = 0; i < n; i++) { /* file order */
        assert_int_equal(got[1 + i].cpu, i / per);
        assert_int_equal(got[1 + i].kind,
                         i % per == per - 1 ? IOSIM_REC_MAP : IOSIM_REC_INVAL);
    }
    assert_int_equal(c.tie_unresolved, 1);
    assert_int_equal(c.tie_search_cut, 1);
    assert_int_equal(c.tie_reordered, 0);
    free(got);
}

/* A group of all 256 CPUs the record's 8-bit cpu field can name, the
 * last CPU with two records: CPU 0 maps A, live already, CPUs 1..254
 * each map a page of their own, CPU 255 unmaps A, then maps D.  Every
 * order keeps CPU 0's map after CPU 255's unmap; the first in file order
 * of the records placed (indices in file order, CPU 0's map 0, CPU k's
 * k, CPU 255's second 256): 1..254, 255, 0, 256.  (Checked by reasoning:
 * brute force over 256 CPUs' interleavings is out of reach.)  Fails when
 * the 256th CPU's slot takes the value that marks a CPU not seen yet, so
 * that its second record opens a 257th (past the search's heads). */
/* test_tie_256_cpus's events: CPU i maps a page of its own, CPU 0 maps
 * A, CPU 255 unmaps A, then (i = 256) maps a page of its own */
static tev_t cpus_ev(size_t i, size_t unused)
{
    (void)unused;
    if (i == 0)
        return (tev_t){0, 'M', A, 4096};
    if (i == 255)
        return (tev_t){255, 'U', A, 4096};
    return (tev_t){(uint8_t)(i < 256 ? i : 255), 'M',
                   0x400000 + 4096 * (uint64_t)i, 4096};
}

static void test_tie_256_cpus(void **state)
{
    (void)state;
    const size_t n = 257;
    import_counts_t c = {0};
    iosim_rec_t *got = parse_long_group(n, cpus_ev, 0, &c);
    for (size_t k = 0; k < n; k++) {
        size_t want = k < 254 ? k + 1 : k == 254 ? 255 : k == 255 ? 0 : 256;
        uint64_t iova = want == 0 || want == 255 ? A : 0x400000 + 4096 * want;
        assert_int_equal(got[1 + k].cpu, want < 256 ? want : 255);
        assert_int_equal(got[1 + k].kind,
                         want == 255 ? IOSIM_REC_UNMAP : IOSIM_REC_MAP);
        assert_int_equal(got[1 + k].iova, iova);
    }
    assert_int_equal(c.tie_unresolved, 0);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tie_each_needs_the_other),
        cmocka_unit_test(test_tie_three_cpus),
        cmocka_unit_test(test_tie_ranges),
        cmocka_unit_test(test_tie_none_fits),
        cmocka_unit_test(test_tie_search_bound),
        cmocka_unit_test(test_tie_256_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
