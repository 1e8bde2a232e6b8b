/* cli_util.c — see cli_util.h. */
#include "tools/cli_util.h"

#include "trace/gen.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_parse_format(const char *s, iosim_format_t *out)
{
    if (strcmp(s, "text") == 0)
        *out = IOSIM_FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = IOSIM_FMT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = IOSIM_FMT_CSV;
    else
        return -1;
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    return gen_parse_u64(s, out); /* one parser for every size option */
}

int cli_parse_duration_ns(const char *s, uint64_t *out)
{
    static const struct { const char *unit; uint64_t ns; } units[] = {
        {"", 1}, {"ns", 1}, {"us", 1000}, {"ms", 1000000},
        {"s", 1000000000},
    };
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 19)
        return -1;
    uint64_t v = strtoull(s, NULL, 10);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s + digits, units[i].unit) != 0)
            continue;
        if (v == 0 || v > UINT64_MAX / units[i].ns)
            return -1;
        *out = v * units[i].ns;
        return 0;
    }
    return -1;
}
