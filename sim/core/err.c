/* err.c — one-line error messages (see iosim.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iosim.h"

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
        char what[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        /* "key: what", cut at the buffer's end as vsnprintf cuts */
        size_t k = strlen(key), cap = sizeof err->msg - 1;
        if (k > cap - 2)
            k = cap - 2;
        memcpy(err->msg, key, k);
        memcpy(err->msg + k, ": ", 2);
        size_t w = strlen(what);
        if (w > cap - k - 2)
            w = cap - k - 2;
        memcpy(err->msg + k + 2, what, w);
        err->msg[k + 2 + w] = '\0';
        one_line(err->msg);
        snprintf(err->key, sizeof err->key, "%s", key);
    }
    return -1;
}
