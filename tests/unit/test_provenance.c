/* test_provenance.c — the provenance of reports (sim/stats/provenance.c).
 *
 * The trace's size and SHA-256 come out the same whether they are computed
 * at once (iosim_provenance_fill) or on a thread beside the replay
 * (iosim_provenance_fill_ahead, then iosim_provenance_finish), and equal
 * coreutils' sha256sum(1) of the file and its size by stat; the command
 * and the config file's hash are the same both ways; a trace that is not
 * a regular file is not hashed either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "iosim.h"

/* A file of n pseudo-random bytes; its path in path. */
static void make_file(char *path, uint32_t n, uint32_t seed)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++)
        fputc((int)(((i + seed) * 2654435761u) >> 24), f);
    assert_int_equal(fclose(f), 0);
}

static void sha256sum_of(const char *path, char want[65])
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sha256sum %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%64s", want), 1);
    assert_int_equal(pclose(p), 0);
}

static void test_ahead_equals_at_once(void **state)
{
    (void)state;
    /* 1,000,003 bytes: many of the 64 KB reads and a partial block */
    char trace[] = "/tmp/iosim_test_prov_trace_XXXXXX";
    char config[] = "/tmp/iosim_test_prov_config_XXXXXX";
    make_file(trace, 1000003, 1);
    make_file(config, 777, 2);
    char want[65] = {0}, want_cfg[65] = {0};
    sha256sum_of(trace, want);
    sha256sum_of(config, want_cfg);
    struct stat st;
    assert_int_equal(stat(trace, &st), 0);

    char *argv[] = {"iosim", "--threads", "2", "--config", config, trace};
    int argc = 6;
    iosim_provenance_t now, ahead;
    iosim_err_t err;
    assert_int_equal(
        iosim_provenance_fill(&now, argc, argv, trace, config, &err), 0);
    /* several times: the thread may end before or after finish is called */
    for (int round = 0; round < 8; round++) {
        assert_int_equal(iosim_provenance_fill_ahead(&ahead, argc, argv, trace,
                                                     config, &err),
                         0);
        assert_int_equal(iosim_provenance_finish(&ahead, &err), 0);
        assert_null(ahead.hashing);
        assert_string_equal(ahead.trace_sha256, want);
        assert_int_equal(ahead.trace_bytes, (uint64_t)st.st_size);
        assert_string_equal(ahead.trace_sha256, now.trace_sha256);
        assert_int_equal(ahead.trace_bytes, now.trace_bytes);
        assert_string_equal(ahead.config_sha256, want_cfg);
        assert_string_equal(ahead.command, now.command);
        /* a second finish has nothing left to wait for */
        assert_int_equal(iosim_provenance_finish(&ahead, &err), 0);
        assert_string_equal(ahead.trace_sha256, want);
        iosim_provenance_free(&ahead);
    }
    assert_string_equal(now.trace_sha256, want);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "iosim --config %s %s", config, trace);
    assert_string_equal(now.command, cmd); /* --threads 2 left out */
    iosim_provenance_free(&now);

    /* freed with the hash still running: waited for, nothing leaks (ASan) */
    assert_int_equal(
        iosim_provenance_fill_ahead(&ahead, argc, argv, trace, config, &err),
        0);
    iosim_provenance_free(&ahead);
    assert_null(ahead.hashing);
    assert_null(ahead.command);
    unlink(trace);
    unlink(config);
}

static void test_missing_trace(void **state)
{
    (void)state;
    char trace[] = "/tmp/iosim_test_prov_gone_XXXXXX";
    make_file(trace, 10, 3);
    unlink(trace);
    char *argv[] = {"iosim", trace};
    /* not a regular file (a FIFO, a device, gone): no hash either way */
    for (int ahead = 0; ahead < 2; ahead++) {
        iosim_provenance_t p;
        iosim_err_t err;
        assert_int_equal(
            ahead ? iosim_provenance_fill_ahead(&p, 2, argv, trace, NULL, &err)
                  : iosim_provenance_fill(&p, 2, argv, trace, NULL, &err),
            0);
        assert_null(p.hashing);
        assert_int_equal(iosim_provenance_finish(&p, &err), 0);
        assert_string_equal(p.trace_sha256, "");
        assert_int_equal(p.trace_bytes, 0);
        iosim_provenance_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ahead_equals_at_once),
        cmocka_unit_test(test_missing_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
