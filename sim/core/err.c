/* err.c — one-line error messages (see iosim.h). */
#include <stdarg.h>
#include <stdio.h>

#include "iosim.h"

int iosim_err_set(iosim_err_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* Keep it one line: a message is printed as "iosim: <msg>\n". */
        for (char *p = err->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return -1;
}
