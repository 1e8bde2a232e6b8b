/* test_util.h — helpers shared by the cmocka test programs.
 * Concepts: a per-run scratch directory (make_work / remove_work as group
 * setup and teardown, wpath names a file in it), reading a whole small
 * file or trace into memory and writing a file, a sim from "key=value"
 * settings.  Include after <cmocka.h>. */
#ifndef IOSIM_TEST_UTIL_H
#define IOSIM_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/vec.h"
#include "iosim.h"

#define TEST_UNUSED __attribute__((unused))

static TEST_UNUSED char work[256]; /* per-run scratch directory */

static TEST_UNUSED int make_work(void **state)
{
    (void)state;
    snprintf(work, sizeof work, "/tmp/iosim_test.XXXXXX");
    return mkdtemp(work) ? 0 : -1;
}

static TEST_UNUSED int remove_work(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    return system(cmd) == 0 ? 0 : -1;
}

/* path of name inside the scratch directory (4 rotating buffers) */
static TEST_UNUSED const char *wpath(const char *name)
{
    static char buf[4][320];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", work, name);
    return buf[i];
}

static TEST_UNUSED bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The bytes of a whole (small) file, followed by a NUL (a text file is
 * a string); *len = its size.  Free with free(). */
static TEST_UNUSED unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

/* A file of the n bytes at data (replaced if it exists). */
static TEST_UNUSED void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Every record of a (small) trace, in order; meta filled if non-NULL.
 * Fails the test on any read error.  Free *recs with free(). */
static TEST_UNUSED size_t read_whole_trace(const char *path, iosim_rec_t **recs,
                                           iosim_trace_meta_t *meta)
{
    iosim_err_t err;
    iosim_trace_reader_t *rd = iosim_trace_open(path, &err);
    if (!rd)
        fail_msg("%s", err.msg);
    if (meta)
        *meta = *iosim_trace_meta(rd);
    size_t n = 0, cap = 0;
    iosim_rec_t *r = NULL;
    for (;;) {
        assert_int_equal(vec_reserve(&r, &cap, n + 512, 1024), 0);
        long got = iosim_trace_read(rd, r + n, 512, &err);
        if (got < 0)
            fail_msg("%s", err.msg);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    iosim_trace_close(rd);
    *recs = r;
    return n;
}

/* A sim (label "t", no output) of the defaults with each "key=value" of
 * the NULL-terminated lists base, then sets (either NULL: none) applied,
 * for a trace of metadata meta (NULL: none); fails the test on any error,
 * naming the assignment. */
static TEST_UNUSED iosim_sim_t *
sim_from_set_lists(const char *const *base, const char *const *sets,
                   const iosim_trace_meta_t *meta)
{
    iosim_err_t err = {0};
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    const char *const *lists[] = {base, sets};
    for (size_t l = 0; l < 2; l++)
        for (const char *const *a = lists[l]; a && *a; a++)
            if (iosim_config_set(c, *a, &err))
                fail_msg("%s: %s", *a, err.msg);
    iosim_sim_t *s = iosim_sim_new(c, "t", meta, &err);
    if (!s)
        fail_msg("%s", err.msg);
    iosim_config_free(c);
    return s;
}

/* sim_from_set_lists of one list */
static TEST_UNUSED iosim_sim_t *
sim_from_sets_meta(const char *const *sets, const iosim_trace_meta_t *meta)
{
    return sim_from_set_lists(sets, NULL, meta);
}

static TEST_UNUSED iosim_sim_t *sim_from_sets(const char *const *sets)
{
    return sim_from_sets_meta(sets, NULL);
}

/* Feeds n records to s and finishes it; fails the test on any error. */
static TEST_UNUSED void sim_run(iosim_sim_t *s, const iosim_rec_t *r, size_t n)
{
    iosim_err_t err = {0};
    if (iosim_sim_consume(s, r, n, &err) || iosim_sim_finish(s, &err))
        fail_msg("%s", err.msg);
}

/* A counter of s by name; fails the test if there is none. */
static TEST_UNUSED uint64_t test_stat(const iosim_sim_t *s, const char *name)
{
    uint64_t v = 0;
    if (!iosim_sim_stat_by_name(s, name, &v))
        fail_msg("no counter %s", name);
    return v;
}

/* Records of one NIC (source id 01:00.0, domain 6: the captures' NIC) as
 * a driver's trace has them (device-model tests). */
#define TEST_DEV 0x0100
#define TEST_DID 6

/* A read-write map of [iova, iova+size) to a physical address derived
 * from the IOVA (distinct pages stay distinct). */
static TEST_UNUSED iosim_rec_t test_map(uint64_t t, uint64_t iova,
                                        uint64_t size, uint8_t cpu)
{
    return (iosim_rec_t){.kind = IOSIM_REC_MAP,
                         .t = t,
                         .iova = iova,
                         .size = size,
                         .aux = 0x40000000 + (iova & 0xfffffff),
                         .device = TEST_DEV,
                         .domain = TEST_DID,
                         .cpu = cpu,
                         .flags = IOSIM_PROT_READ | IOSIM_PROT_WRITE};
}

/* A record of kind (not a MAP: test_map) of the NIC with flags 0: an
 * UNMAP; a MARK of a request boundary; an INVAL without IH. */
static TEST_UNUSED iosim_rec_t test_rec(uint8_t kind, uint64_t t, uint64_t iova,
                                        uint64_t size, uint8_t cpu)
{
    return (iosim_rec_t){.kind = kind,
                         .t = t,
                         .iova = iova,
                         .size = size,
                         .device = TEST_DEV,
                         .domain = TEST_DID,
                         .cpu = cpu};
}

static TEST_UNUSED iosim_rec_t test_unmap(uint64_t t, uint64_t iova,
                                          uint64_t size, uint8_t cpu)
{
    return test_rec(IOSIM_REC_UNMAP, t, iova, size, cpu);
}

/* A request boundary (MARK, IOSIM_MARK_REQUEST) on cpu. */
static TEST_UNUSED iosim_rec_t test_mark(uint64_t t, uint8_t cpu)
{
    return test_rec(IOSIM_REC_MARK, t, 0, 0, cpu);
}

#ifdef IOSIM_GEN_H
/* Generator tests (trace/gen.h included before this file):
 * gen_KIND_records(p, name, &recs, meta) writes the trace gen_KIND_write
 * makes of params p into the scratch file name and returns its records
 * (read_whole_trace); fails the test on any error. */
#define TEST_GEN_RECORDS(kind)                                                 \
    static TEST_UNUSED size_t gen_##kind##_records(                            \
        const gen_##kind##_params_t *p, const char *name, iosim_rec_t **recs,  \
        iosim_trace_meta_t *meta)                                              \
    {                                                                          \
        iosim_err_t err;                                                       \
        if (gen_##kind##_write(p, wpath(name), false, &err))                   \
            fail_msg("%s", err.msg);                                           \
        return read_whole_trace(wpath(name), recs, meta);                      \
    }
TEST_GEN_RECORDS(random)
TEST_GEN_RECORDS(nic)
TEST_GEN_RECORDS(pvp)
#undef TEST_GEN_RECORDS
#endif

#endif
