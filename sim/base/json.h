/* json.h — the one JSON string writer of the library and its tools.
 *
 * Concepts: a C string as a JSON string literal: '"' and '\\' escaped,
 *   control characters as \u00XX, everything else (UTF-8 included) as is.
 * Assumptions: s is NUL-terminated.
 * Not modeled: validation of UTF-8 (bytes pass through).
 */
#ifndef IOSIM_CORE_JSON_H
#define IOSIM_CORE_JSON_H

#include <stdio.h>

void json_write_string(FILE *out, const char *s);

#endif
