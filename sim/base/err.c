/* err.c — one-line error messages (see iosim_err.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iosim_err.h"

/* Keep it one line: a message is printed as "iosim: <msg>\n". */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int iosim_err_set(iosim_err_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->key[0] = '\0';
    }
    return -1;
}

int iosim_err_key(iosim_err_t *err, const char *key, const char *fmt, ...)
{
    if (err) {
        /* "key: what", cut at the buffer's end as snprintf cuts */
        size_t cap = sizeof err->msg;
        int n = snprintf(err->msg, cap, "%s: ", key);
        if (n >= 0 && (size_t)n < cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->msg + n, cap - (size_t)n, fmt, ap);
            va_end(ap);
        }
        one_line(err->msg);
        snprintf(err->key, sizeof err->key, "%s", key);
    }
    return -1;
}

const char *iosim_errno_str(int errnum)
{
    return errnum == ENOMEM ? "out of memory" : strerror(errnum);
}
