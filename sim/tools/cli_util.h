/* cli_util.h — helpers shared by the iosim and iosim-trace programs.
 * Concepts: only programs (never the library) print errors and exit. */
#ifndef IOSIM_CLI_UTIL_H
#define IOSIM_CLI_UTIL_H

#include "iosim.h"

/* Prints "<prog>: <msg>" on stderr. */
void cli_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses "text|json|csv"; returns -1 if unknown. */
int cli_parse_format(const char *s, iosim_format_t *out);
/* Parses an unsigned number with optional K/M/G suffix (powers of 1024).
 * Returns -1 if malformed. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Parses a positive whole duration "N[ns|us|ms|s]" (no unit: ns) into
 * nanoseconds.  Returns -1 if malformed, zero or too large. */
int cli_parse_duration_ns(const char *s, uint64_t *out);

#endif
