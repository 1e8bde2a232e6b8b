/* test_sparse16.c — the table indexed by a 16-bit id (sim/base/sparse16.c).
 *
 * The ids stored are chosen at the edges of the two-level layout (0, 255,
 * 256, 65535: first and last slot of the first and last block) and in the
 * middle; what iteration must return is the stored set in id order,
 * written out here, and an id never stored reads as 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/sparse16.h"

static void test_set_get_iterate(void **state)
{
    (void)state;
    sparse16_t t = {0};
    static const uint16_t ids[] = {65535, 256, 0, 4660, 255};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(sparse16_set(&t, ids[i], 1000u + ids[i]), 0);

    assert_int_equal(sparse16_get(&t, 0), 1000);
    assert_int_equal(sparse16_get(&t, 255), 1255);
    assert_int_equal(sparse16_get(&t, 256), 1256);
    assert_int_equal(sparse16_get(&t, 4660), 5660);
    assert_int_equal(sparse16_get(&t, 65535), 66535);
    assert_int_equal(sparse16_get(&t, 1), 0);     /* same block, unset */
    assert_int_equal(sparse16_get(&t, 40000), 0); /* block never made  */

    static const uint16_t in_order[] = {0, 255, 256, 4660, 65535};
    uint32_t cursor = 0;
    uint16_t id;
    uintptr_t value;
    size_t n = 0;
    while (sparse16_next(&t, &cursor, &id, &value)) {
        assert_true(n < 5);
        assert_int_equal(id, in_order[n]);
        assert_int_equal(value, 1000u + in_order[n]);
        n++;
    }
    assert_int_equal(n, 5);
    assert_false(sparse16_next(&t, &cursor, &id, &value)); /* stays done */

    /* overwriting with 0 removes the id from the iteration */
    assert_int_equal(sparse16_set(&t, 256, 0), 0);
    assert_int_equal(sparse16_get(&t, 256), 0);
    cursor = 0;
    n = 0;
    while (sparse16_next(&t, &cursor, &id, &value))
        n++;
    assert_int_equal(n, 4);

    /* storing 0 where no block exists allocates nothing */
    assert_int_equal(sparse16_set(&t, 30000, 0), 0);
    assert_null(t.block[30000 >> 8]);
    sparse16_fini(&t);
    assert_null(t.block[0]);
    assert_null(t.block[255]);
}

static void test_empty(void **state)
{
    (void)state;
    sparse16_t t = {0};
    uint32_t cursor = 0;
    uint16_t id;
    uintptr_t value;
    assert_false(sparse16_next(&t, &cursor, &id, &value));
    assert_int_equal(cursor, 65536);
    sparse16_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_iterate),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
