/* test_sha256.c — SHA-256 of sim/base/sha256.c.
 *
 * Digests are checked against the examples published with the standard
 * (FIPS 180-2 Appendix B: "abc", the 448-bit two-block message, one
 * million 'a'), the well-known digest of the empty message, and, for
 * sha256_file(), against coreutils' sha256sum(1) run on the same file.
 * Feeding a message in pieces of every size from 1 to 130 bytes must give
 * the digest of feeding it whole (block boundaries and padding).  Where
 * the CPU has the x86 SHA instructions (sha256_t.accel), the portable
 * code must give the examples' digests too and agree with the
 * instructions on random messages fed in random pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/sha256.h"

static bool portable; /* digest_of runs the portable code */

static void digest_of(const void *data, size_t n, char hex[65])
{
    sha256_t s;
    sha256_init(&s);
    s.accel = s.accel && !portable;
    sha256_update(&s, data, n);
    sha256_final_hex(&s, hex);
}

static void test_fips_examples(void **state)
{
    (void)state;
    char hex[65];
    digest_of("abc", 3, hex);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest_of("", 0, hex);
    assert_string_equal(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest_of(two, strlen(two), hex);
    assert_string_equal(
        hex,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *mil = malloc(1000000);
    assert_non_null(mil);
    memset(mil, 'a', 1000000);
    digest_of(mil, 1000000, hex);
    free(mil);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_fips_examples_portable(void **state)
{
    portable = true;
    test_fips_examples(state);
    portable = false;
}

/* the instructions and the portable code, fed the same random messages
 * in random pieces, give the same digests */
static void test_paths_agree(void **state)
{
    (void)state;
    enum { N = 2000 };
    unsigned char buf[N];
    uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64 (Marsaglia 2003) */
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t len = 0; len < N; len += len < 200 ? 1 : 37) {
        char h[2][65];
        for (int accel = 0; accel < 2; accel++) {
            sha256_t s;
            sha256_init(&s);
            s.accel = s.accel && accel;
            size_t off = 0;
            while (off < len) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                size_t k = (size_t)(x % 150);
                if (k > len - off)
                    k = len - off;
                sha256_update(&s, buf + off, k);
                off += k;
            }
            sha256_final_hex(&s, h[accel]);
        }
        assert_string_equal(h[0], h[1]);
    }
}

static void test_pieces_equal_whole(void **state)
{
    (void)state;
    unsigned char msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 7 + 3);
    char whole[65], parts[65];
    for (size_t len = 0; len <= sizeof msg; len += 37) {
        digest_of(msg, len, whole);
        for (size_t piece = 1; piece <= 130; piece++) {
            sha256_t s;
            sha256_init(&s);
            for (size_t off = 0; off < len; off += piece)
                sha256_update(&s, msg + off,
                              len - off < piece ? len - off : piece);
            sha256_final_hex(&s, parts);
            assert_string_equal(parts, whole);
        }
    }
}

static void test_file_against_sha256sum(void **state)
{
    (void)state;
    char path[] = "/tmp/iosim_test_sha256_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    /* 200,001 bytes: several of the 64 KB reads and a partial block */
    for (uint32_t i = 0; i < 200001; i++)
        fputc((int)((i * 2654435761u) >> 24), f);
    assert_int_equal(fclose(f), 0);

    char hex[65];
    uint64_t size = 0;
    iosim_err_t err;
    assert_int_equal(sha256_file(path, hex, &size, &err), 0);
    assert_int_equal(size, 200001);

    char cmd[128], want[65] = {0};
    snprintf(cmd, sizeof cmd, "sha256sum %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%64s", want), 1);
    assert_int_equal(pclose(p), 0);
    unlink(path);
    assert_string_equal(hex, want);

    /* a missing file: -1 and a message naming it */
    assert_int_equal(sha256_file(path, hex, &size, &err), -1);
    assert_non_null(strstr(err.msg, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_examples),
        cmocka_unit_test(test_fips_examples_portable),
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_pieces_equal_whole),
        cmocka_unit_test(test_file_against_sha256sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
