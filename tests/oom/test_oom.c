/* test_oom.c — an allocation failure anywhere in a reader is reported as
 * "out of memory", never as the end of the input, a truncation or a
 * crash.
 *
 * Concepts:
 *   - failalloc.c replaces the process's allocator; for each reader the
 *     test first reads a small input with nothing failing (the reference:
 *     record count and an FNV-1a hash of the records, or the config's
 *     echo), then for N = 1, 2, ... fails the N-th allocation made
 *     while the reader opens and reads it, until a run makes fewer than
 *     N allocations.  Every run must either give the reference result (a
 *     failure the reader could recover from) or fail with ONE line that
 *     starts with the input's name and contains "out of memory".
 *   - Readers: the binary trace (format v1 and v2) and the text trace
 *     (iosim_trace_open/read), the ftrace and the QEMU importers
 *     (import_run into a callback sink, as iosim-trace import does) and
 *     the config loader (iosim_config_load).
 *   - Two pieces of plumbing at their failing allocation: base/vec.h's
 *     growth (the array kept as it was) and the page tables' modeled
 *     memory (a table page's release never allocates, so never loses
 *     the page's address).
 * Assumptions: IOSIM_SOURCE_DIR is the checkout (tests/data, configs);
 *   the traces are written once from tests/data/trace_small.txt into
 *   IOSIM_OOM_WORK (ctest sets it; else a /tmp/iosim-oom-* directory
 *   removed at the end) before anything is armed.
 * Not modeled: the programs' own messages and exit status (oom_cli.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/vec.h"
#include "failalloc.h"
#include "iosim.h"
#include "trace/import.h"
#include "trace/trace_internal.h"
#include "vtd/pgtable.h"

#define DATA IOSIM_SOURCE_DIR "/tests/data/"

/* What a read produced: a count and a hash of everything read. */
typedef struct result {
    int rc; /* 0 or -1 */
    uint64_t n, hash;
    iosim_err_t err;
} result_t;

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * UINT64_C(1099511628211);
}

static void result_init(result_t *res)
{
    memset(res, 0, sizeof *res);
    res->hash = UINT64_C(1469598103934665603);
}

/* A run under a failed allocation: the reference result, or one line
 * naming the input and saying "out of memory". */
static void check_run(const char *what, unsigned long n, const result_t *ref,
                      const result_t *got, const char *name)
{
    if (got->rc == 0) {
        if (got->n != ref->n || got->hash != ref->hash)
            fail_msg("%s: allocation %lu failed, the read succeeded with %llu "
                     "records/bytes instead of %llu (or other content)",
                     what, n, (unsigned long long)got->n,
                     (unsigned long long)ref->n);
        return;
    }
    const char *m = got->err.msg;
    size_t nl = strlen(name);
    if (strncmp(m, name, nl) != 0 || m[nl] != ':' || strchr(m, '\n') ||
        !strstr(m, "out of memory"))
        fail_msg("%s: allocation %lu failed: '%s' (want one line '%s: ... "
                 "out of memory')",
                 what, n, m, name);
}

typedef void (*reader_fn)(const char *name, result_t *res);

/* Sweeps the failing allocation over every allocation reader makes. */
static void sweep(const char *what, reader_fn reader, const char *name)
{
    result_t ref;
    reader(name, &ref);
    if (ref.rc != 0)
        fail_msg("%s: the reference read failed: %s", what, ref.err.msg);
    assert_true(ref.n > 0);
    unsigned long n;
    for (n = 1;; n++) {
        result_t got;
        failalloc_arm(n);
        reader(name, &got);
        int fired = failalloc_fired();
        failalloc_arm(0);
        if (!fired) {
            check_run(what, n, &ref, &got, name); /* must be the reference */
            break;
        }
        check_run(what, n, &ref, &got, name);
    }
    /* the sweep reached past the reader's last allocation */
    assert_true(n > 1);
    print_message("%s: %lu allocations swept\n", what, n - 1);
}

/* ---------------------------------------------------------------- */
/* trace readers                                                    */
/* ---------------------------------------------------------------- */
static void read_trace(const char *path, result_t *res)
{
    result_init(res);
    iosim_trace_reader_t *r = iosim_trace_open(path, &res->err);
    if (!r) {
        res->rc = -1;
        return;
    }
    iosim_rec_t recs[16];
    for (;;) {
        long k = iosim_trace_read(r, recs, 16, &res->err);
        if (k < 0) {
            res->rc = -1;
            break;
        }
        if (k == 0)
            break;
        hash_bytes(&res->hash, recs, (size_t)k * sizeof recs[0]);
        res->n += (uint64_t)k;
    }
    iosim_trace_close(r);
}

static char v1_path[512], v2_path[512], text_path[512];
static char tmp_dir[64]; /* made when IOSIM_OOM_WORK is not set */

/* The three forms of tests/data/trace_small.txt (nothing armed). */
static int write_traces(void **state)
{
    (void)state;
    const char *work = getenv("IOSIM_OOM_WORK");
    if (!work) { /* run by hand: a directory of its own, not the cwd */
        snprintf(tmp_dir, sizeof tmp_dir, "/tmp/iosim-oom-XXXXXX");
        if (!mkdtemp(tmp_dir))
            return -1;
        work = tmp_dir;
    }
    mkdir(work, 0755);
    snprintf(v1_path, sizeof v1_path, "%s/small-v1.zst", work);
    snprintf(v2_path, sizeof v2_path, "%s/small-v2.zst", work);
    snprintf(text_path, sizeof text_path, "%s", DATA "trace_small.txt");
    const char *out[2] = {v1_path, v2_path};
    for (unsigned v = 1; v <= 2; v++) {
        iosim_err_t err;
        iosim_trace_reader_t *r = iosim_trace_open(text_path, &err);
        if (!r)
            return -1;
        iosim_trace_writer_t *w =
            trace_create_version(out[v - 1], iosim_trace_meta(r), v, &err);
        iosim_rec_t recs[16];
        long k;
        while (w && (k = iosim_trace_read(r, recs, 16, &err)) > 0)
            if (iosim_trace_write(w, recs, (size_t)k, &err))
                return -1;
        iosim_trace_close(r);
        if (!w || iosim_trace_commit(w, &err))
            return -1;
    }
    return 0;
}

static void test_trace_v1(void **state)
{
    (void)state;
    sweep("binary trace v1", read_trace, v1_path);
}

static void test_trace_v2(void **state)
{
    (void)state;
    sweep("binary trace v2", read_trace, v2_path);
}

static void test_trace_text(void **state)
{
    (void)state;
    sweep("text trace", read_trace, text_path);
}

/* ---------------------------------------------------------------- */
/* importers                                                        */
/* ---------------------------------------------------------------- */
static int collect(void *arg, const iosim_rec_t *recs, size_t n,
                   iosim_err_t *err)
{
    (void)err;
    result_t *res = arg;
    hash_bytes(&res->hash, recs, n * sizeof recs[0]);
    res->n += n;
    return 0;
}

/* iosim-trace import SOURCE: import_run into a sink, then finish. */
static void import(const char *source, const char *path, const char *guest,
                   result_t *res)
{
    result_init(res);
    const import_source_t *src = import_find(source);
    assert_non_null(src);
    import_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.device = 0x0100;
    opts.domain = -1;
    opts.guest_path = guest;
    import_counts_t counts;
    memset(&counts, 0, sizeof counts);
    FILE *f = fopen(path, "rb");
    if (!f) {
        /* the program's own fopen: oom_cli.sh checks its message */
        snprintf(res->err.msg, sizeof res->err.msg, "%s: out of memory", path);
        res->rc = -1;
        return;
    }
    import_sink_t *sink = import_sink_callback(collect, res, &opts, &counts);
    if (!sink) {
        snprintf(res->err.msg, sizeof res->err.msg, "%s: out of memory", path);
        res->rc = -1;
    } else {
        res->rc = import_run(src, f, path, sink, &opts, &counts, &res->err);
        if (res->rc == 0)
            res->rc = import_sink_finish(sink, &res->err);
        import_sink_free(sink);
    }
    fclose(f);
}

static void import_ftrace(const char *path, result_t *res)
{
    import("ftrace", path, NULL, res);
}

#define QEMU_GUEST DATA "ftrace-redis-strict-qemu-guest.txt"

static void import_qemu(const char *path, result_t *res)
{
    import("qemu", path, QEMU_GUEST, res);
    /* a failure may name either input: the test wants the QEMU log's
     * name, so a guest message is renamed after its check here */
    size_t gl = strlen(QEMU_GUEST);
    if (res->rc && !strncmp(res->err.msg, QEMU_GUEST, gl) &&
        res->err.msg[gl] == ':') {
        char rest[sizeof res->err.msg];
        snprintf(rest, sizeof rest, "%s", res->err.msg + gl);
        /* path is a tests/data name, shorter than the guest's: fits */
        if (snprintf(res->err.msg, sizeof res->err.msg, "%s%s", path, rest) >=
            (int)sizeof res->err.msg)
            fail_msg("message too long: %s%s", path, rest);
    }
}

static void test_import_ftrace(void **state)
{
    (void)state;
    sweep("import ftrace", import_ftrace, DATA "ftrace-redis-strict.txt");
}

static void test_import_qemu(void **state)
{
    (void)state;
    sweep("import qemu", import_qemu, DATA "qemu-redis-strict.log");
}

/* ---------------------------------------------------------------- */
/* the model                                                        */
/* ---------------------------------------------------------------- */
/* The records of the text trace (read before anything is armed) through
 * a sim made with the given settings: the counters and the input
 * warnings are the result.  A failure is named after the trace, as iosim
 * prints it. */
static iosim_rec_t small_recs[64];
static size_t small_n;
static iosim_trace_meta_t small_meta;
static const char *sim_sets[4];
static bool sim_dump; /* with an access dump (iosim --dump-accesses) */

static void run_sim(const char *name, result_t *res)
{
    result_init(res);
    iosim_config_t *c = iosim_config_new();
    iosim_sim_t *s = NULL;
    iosim_err_t err = {0};
    static char dump_buf[1 << 16];
    FILE *dump = NULL;
    res->rc = -1;
    if (!c ||
        (sim_dump && !(dump = fmemopen(dump_buf, sizeof dump_buf, "w")))) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < 4 && sim_sets[i]; i++)
        assert_int_equal(iosim_config_set(c, sim_sets[i], &err), 0);
    s = iosim_sim_new(c, "oom", &small_meta, &err);
    if (!s || (dump && iosim_sim_set_access_dump(s, dump, &err)) ||
        iosim_sim_consume(s, small_recs, small_n, &err) ||
        iosim_sim_finish(s, &err))
        goto out;
    res->rc = 0;
    if (dump) { /* the rows (stdio needs no memory to write them) */
        assert_int_equal(fflush(dump), 0);
        long len = ftell(dump);
        assert_true(len > 0 && (size_t)len < sizeof dump_buf);
        hash_bytes(&res->hash, dump_buf, (size_t)len);
    }
    for (size_t i = 0; i < iosim_stat_count(); i++) {
        uint64_t v = iosim_sim_stat(s, i);
        hash_bytes(&res->hash, &v, sizeof v);
    }
    for (size_t i = 0; i < iosim_warning_count(); i++) {
        uint64_t v = iosim_sim_warning(s, i);
        hash_bytes(&res->hash, &v, sizeof v);
    }
    res->n = small_n;
out:
    if (res->rc)
        snprintf(res->err.msg, sizeof res->err.msg, "%s: %.400s", name,
                 err.msg);
    iosim_sim_free(s);
    iosim_config_free(c);
    if (dump)
        fclose(dump);
}

/* A sim's table pages that cannot be allocated are "out of memory",
 * not a map overlapping a live mapping, nor a trace whose DMAs or
 * unmaps find nothing mapped (warnings); on bare metal, with the
 * emulated vIOMMU (guest tables and their shadow) and nested (host
 * second stage made during translations); each again with an access
 * dump (iosim --dump-accesses), whose rows join the result. */
static void test_sim(void **state)
{
    (void)state;
    iosim_err_t err;
    iosim_trace_reader_t *r = iosim_trace_open(text_path, &err);
    assert_non_null(r);
    small_meta = *iosim_trace_meta(r);
    long k = iosim_trace_read(r, small_recs, 64, &err);
    iosim_trace_close(r);
    assert_true(k > 0 && k < 64);
    small_n = (size_t)k;
    static const char *const modes[][4] = {
        {NULL},
        {"hv.mode=emulated", "vtd.caching_mode=true", NULL},
        {"hv.mode=nested", "vtd.translation=nested", "vtd.root_mode=scalable",
         NULL},
    };
    /* the sweeps below fail the anonymous mappings too: base/zmem.c maps
     * two blocks of 64 KB or more on bare metal, the sim (iosim_sim_new)
     * and the VT-d source-id map (vtd_new) */
    result_t bare;
    memcpy(sim_sets, modes[0], sizeof sim_sets);
    failalloc_arm((unsigned long)-1); /* count, never fail */
    run_sim("sim", &bare);
    unsigned long maps = failalloc_maps();
    failalloc_arm(0);
    assert_int_equal(bare.rc, 0);
    assert_int_equal(maps, 2);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        memcpy(sim_sets, modes[m], sizeof sim_sets);
        sweep(modes[m][0] ? modes[m][0] : "sim", run_sim, text_path);
    }
    /* with the access dump: its page index, its list of maps and the
     * rows, reference and failed runs alike */
    sim_dump = true;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        memcpy(sim_sets, modes[m], sizeof sim_sets);
        char what[64];
        snprintf(what, sizeof what, "%s, access dump",
                 modes[m][0] ? modes[m][0] : "sim");
        sweep(what, run_sim, text_path);
    }
    sim_dump = false;
}

/* ---------------------------------------------------------------- */
/* config loader                                                    */
/* ---------------------------------------------------------------- */
static void load_config(const char *path, result_t *res)
{
    result_init(res);
    iosim_config_t *c = iosim_config_new();
    if (!c) {
        snprintf(res->err.msg, sizeof res->err.msg, "%s: out of memory", path);
        res->rc = -1;
        return;
    }
    res->rc = iosim_config_load(c, path, &res->err);
    if (res->rc == 0) {
        /* the echo (allocates: done after the failure is disarmed by
         * writing into a fixed buffer) */
        static char echo[1 << 16];
        FILE *m = fmemopen(echo, sizeof echo, "w");
        if (m) {
            iosim_config_write(c, m, IOSIM_FMT_TEXT);
            long len = ftell(m);
            fclose(m);
            hash_bytes(&res->hash, echo, len > 0 ? (size_t)len : 0);
            res->n = len > 0 ? (uint64_t)len : 0;
        } else {
            res->rc = -1;
            snprintf(res->err.msg, sizeof res->err.msg, "%s: out of memory",
                     path);
        }
    }
    iosim_config_free(c);
}

static void test_config(void **state)
{
    (void)state;
    sweep("config", load_config, IOSIM_SOURCE_DIR "/configs/qemu-virtio.yaml");
}

/* ---------------------------------------------------------------- */
/* base/vec.h                                                       */
/* ---------------------------------------------------------------- */
/* A realloc that fails (ENOMEM) leaves the array, its contents and its
 * capacity as they were; the next call grows it to the same capacity as
 * if nothing had failed.  The same for a ring's growth. */
static void test_vec_enomem(void **state)
{
    (void)state;
    uint32_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve(&v, &cap, 3, 4), 0);
    v[0] = 11, v[1] = 22, v[2] = 33;
    assert_int_equal(vec_reserve(&v, &cap, 4, 4), 0); /* no allocation */
    uint32_t *was = v;
    failalloc_arm(1);
    errno = 0;
    int rc = vec_reserve(&v, &cap, 5, 4);
    int fired = failalloc_fired();
    failalloc_arm(0);
    assert_true(fired);
    assert_int_equal(rc, -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(v, was);
    assert_int_equal(cap, 4);
    assert_int_equal(v[0] + v[1] + v[2], 66);
    /* the first allocation from empty fails the same way */
    uint32_t *e = NULL;
    size_t ecap = 0;
    failalloc_arm(1);
    assert_int_equal(vec_reserve(&e, &ecap, 1, 8), -1);
    failalloc_arm(0);
    assert_null(e);
    assert_int_equal(ecap, 0);
    assert_int_equal(vec_reserve(&v, &cap, 5, 4), 0);
    assert_int_equal(cap, 8);
    assert_int_equal(v[0] + v[1] + v[2], 66);
    /* a full ring (8 from index 5) whose new array cannot be had */
    size_t head = 5;
    for (uint32_t i = 0; i < 8; i++)
        v[(head + i) % 8] = i;
    was = v;
    failalloc_arm(1);
    rc = vec_ring_grow(&v, &cap, &head, 8, 4);
    fired = failalloc_fired();
    failalloc_arm(0);
    assert_true(fired);
    assert_int_equal(rc, -1);
    assert_ptr_equal(v, was);
    assert_int_equal(cap, 8);
    assert_int_equal(head, 5);
    assert_int_equal(v[(head + 7) % 8], 7);
    assert_int_equal(vec_ring_grow(&v, &cap, &head, 8, 4), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(head, 0);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(v[i], i);
    free(v);
}

/* ---------------------------------------------------------------- */
/* vtd/pgtable.h's modeled memory                                   */
/* ---------------------------------------------------------------- */
/* Releasing a table page never allocates and loses no address: the free
 * list's room is reserved when a page is first made.  With the next
 * allocation armed to fail, releasing every page fires nothing and puts
 * them all on the free list, which hands them back last-released first;
 * a new page whose room cannot be reserved is refused with nothing
 * changed, and made once memory is back. */
static void test_physmem_release(void **state)
{
    (void)state;
    enum { N = 600 };
    const uint64_t base = 1ull << 30, page = 1ull << PT_PAGE_SHIFT;
    static uint64_t pa[N];
    physmem_t m;
    physmem_init(&m, base);
    for (uint64_t i = 0; i < N; i++) {
        assert_int_equal(physmem_alloc(&m, &pa[i]), 0);
        assert_int_equal(pa[i], base + i * page);
    }
    failalloc_arm(1);
    for (size_t i = 0; i < N; i++) /* odd pages first, then even */
        physmem_release(&m, pa[(2 * i + 1) % N - (i >= N / 2 ? 1 : 0)]);
    int fired = failalloc_fired();
    failalloc_arm(0);
    assert_false(fired);
    assert_int_equal(m.nfree, N);
    assert_int_equal(m.live, 0);
    for (size_t i = 0; i < N; i++) { /* LIFO: even pages down, then odd */
        uint64_t got;
        assert_int_equal(physmem_alloc(&m, &got), 0);
        size_t k = N - 1 - i;
        assert_int_equal(got, pa[(2 * k + 1) % N - (k >= N / 2 ? 1 : 0)]);
    }
    /* new pages up to the free list's room (1024: 256 doubled twice) */
    uint64_t got;
    while (m.live < m.cap) {
        assert_int_equal(physmem_alloc(&m, &got), 0);
        assert_int_equal(got, base + (m.live - 1) * page);
    }
    assert_int_equal(m.cap, 1024);
    failalloc_arm(1);
    got = 0;
    int rc = physmem_alloc(&m, &got);
    fired = failalloc_fired();
    failalloc_arm(0);
    assert_true(fired);
    assert_int_equal(rc, -1);
    assert_int_equal(got, 0);
    assert_int_equal(m.live, 1024);
    assert_int_equal(m.next, base + 1024 * page);
    assert_int_equal(physmem_alloc(&m, &got), 0);
    assert_int_equal(got, base + 1024 * page);
    assert_int_equal(m.cap, 2048);
    physmem_fini(&m);
}

/* The temporary directory write_traces made, with its traces. */
static int remove_traces(void **state)
{
    (void)state;
    if (tmp_dir[0]) {
        unlink(v1_path);
        unlink(v2_path);
        rmdir(tmp_dir);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_v1),
        cmocka_unit_test(test_trace_v2),
        cmocka_unit_test(test_trace_text),
        cmocka_unit_test(test_import_ftrace),
        cmocka_unit_test(test_import_qemu),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_sim),
        cmocka_unit_test(test_vec_enomem),
        cmocka_unit_test(test_physmem_release),
    };
    return cmocka_run_group_tests(tests, write_traces, remove_traces);
}
