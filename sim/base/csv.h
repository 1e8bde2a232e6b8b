/* csv.h — the one CSV field writer of the library (reports, the config
 * echo, sweep tables).
 *
 * Concepts: RFC 4180 quoting: a field with a comma, a quote, CR or LF is
 *   quoted, its quotes doubled; anything else is written as is.
 * Assumptions: s is NUL-terminated.
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_BASE_CSV_H
#define IOSIM_BASE_CSV_H

#include <stdio.h>

void csv_write_field(FILE *out, const char *s);

#endif
