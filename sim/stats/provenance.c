/* provenance.c — where a report came from (iosim.h iosim_provenance_t).
 *
 * Concepts: the command is argv as shell-quoted words without the options
 *   that only say where outputs go or how fast to run, so that identical
 *   runs (also with another --threads or -o) give identical reports; the
 *   files are named as given and identified by size and SHA-256
 *   (base/sha256.h), which sha256sum(1) can check.
 * Assumptions: the files do not change during the run.
 * Not modeled: nothing; plumbing.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/sha256.h"
#include "base/vec.h"
#include "iosim.h"

/* Options that change no number of a report: with their value, or alone. */
static const char *const drop_with_value[] = {
    "-o",          "--output",        "--threads", "--epoch-out",
    "--xlate-log", "--dump-accesses", NULL};
/* (--plain: the same numbers, only the "# replay:" line differs) */
static const char *const drop_alone[] = {"--progress", "--no-progress",
                                         "--plain", NULL};

static bool listed(const char *const *list, const char *a)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(list[i], a))
            return true;
    return false;
}

static bool regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool plain_word(const char *w)
{
    return w[0] && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                             "TUVWXYZ0123456789_-./=:@,+%") == strlen(w);
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (vec_reserve(buf, cap, *len + n + 1, 256))
        return -1;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

int iosim_provenance_fill(iosim_provenance_t *p, int argc, char *const *argv,
                          const char *trace, const char *config_file,
                          iosim_err_t *err)
{
    memset(p, 0, sizeof *p);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int bad = append(&buf, &len, &cap, "iosim", 5);
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        if (listed(drop_with_value, a)) {
            i++;
            continue;
        }
        if (listed(drop_alone, a))
            continue;
        bad |= append(&buf, &len, &cap, " ", 1);
        if (plain_word(a)) {
            bad |= append(&buf, &len, &cap, a, strlen(a));
            continue;
        }
        bad |= append(&buf, &len, &cap, "'", 1);
        for (const char *c = a; *c && !bad; c++)
            bad |= *c == '\'' ? append(&buf, &len, &cap, "'\\''", 4)
                              : append(&buf, &len, &cap, c, 1);
        bad |= append(&buf, &len, &cap, "'", 1);
    }
    if (bad) {
        free(buf);
        return iosim_err_set(err, "out of memory");
    }
    p->command = buf;
    p->trace = trace;
    p->config_file = config_file;
    /* a FIFO or a device is read once, by the run: no hash */
    if ((regular(trace) &&
         sha256_file(trace, p->trace_sha256, &p->trace_bytes, err)) ||
        (config_file && regular(config_file) &&
         sha256_file(config_file, p->config_sha256, NULL, err))) {
        iosim_provenance_free(p);
        return -1;
    }
    return 0;
}

void iosim_provenance_free(iosim_provenance_t *p)
{
    free(p->command);
    p->command = NULL;
}
