/* fuzz_config.c — fuzz target: the YAML configuration loader,
 * iosim_config_load() (sim/config/config.c, libyaml underneath).
 *
 * Concepts:
 *   - The input is written to a file and loaded over the defaults.
 *   - Checks: no crash / leak / UB; a failed load returns -1 with one
 *     line starting with the file name and leaves the configuration
 *     byte-for-byte unchanged (config.c: "a failed load changes
 *     nothing"); a good load is validated (its message is one line too)
 *     and echoed in all three formats, which walks every field it set.
 * Assumptions: inputs up to a few hundred KB (libFuzzer's -max_len).
 * Not modeled: --set (iosim_config_set takes a string, not a file).
 */
#include "config/config.h"
#include "fuzz_common.h"

static FILE *devnull(void)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (!sink)
        fuzz_fail("cannot open /dev/null");
    return sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    iosim_config_t *cfg = iosim_config_new();
    iosim_config_t *before = cfg ? iosim_config_clone(cfg) : NULL;
    if (!cfg || !before)
        fuzz_fail("iosim_config_new/clone failed");

    iosim_err_t err;
    memset(&err, 0, sizeof err);
    int rc = iosim_config_load(cfg, path, &err);
    if (rc == -1) {
        fuzz_check_err(&err, path, "iosim_config_load");
        if (memcmp(cfg, before, sizeof *cfg) != 0)
            fuzz_fail("iosim_config_load failed but changed the config "
                      "(%s)",
                      err.msg);
    } else if (rc == 0) {
        memset(&err, 0, sizeof err);
        if (iosim_config_validate(cfg, &err) != 0)
            fuzz_check_err(&err, NULL, "iosim_config_validate");
        iosim_config_write(cfg, devnull(), IOSIM_FMT_TEXT);
        iosim_config_write(cfg, devnull(), IOSIM_FMT_JSON);
        iosim_config_write(cfg, devnull(), IOSIM_FMT_CSV);
    } else {
        fuzz_fail("iosim_config_load returned %d", rc);
    }
    iosim_config_free(before);
    iosim_config_free(cfg);
    return 0;
}
