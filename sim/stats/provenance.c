/* provenance.c — where a report came from (iosim.h iosim_provenance_t).
 *
 * Concepts: the command is argv as shell-quoted words without the options
 *   that only say where outputs go or how fast to run, so that identical
 *   runs (also with another --threads or -o) give identical reports; the
 *   files are named as given and identified by size and SHA-256
 *   (base/sha256.h), which sha256sum(1) can check.  The trace's hash
 *   depends on nothing the replay computes: iosim_provenance_fill_ahead
 *   computes it on a thread of its own beside the replay (a one-
 *   configuration run with --threads 2 hashed 65 MB on the model's thread
 *   before the replay: about 0.06 s of its 0.70 s).
 * Assumptions: the files do not change during the run.
 * Not modeled: nothing; plumbing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
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

/* The trace's hash on a thread of its own (iosim_provenance_fill_ahead). */
typedef struct hash_job {
    pthread_t th;
    FILE *f;
    const char *path;
    char hex[65];
    uint64_t bytes;
    int rc;
    iosim_err_t err;
} hash_job_t;

static void *hash_main(void *arg)
{
    hash_job_t *j = arg;
    j->rc = sha256_stream(j->f, j->path, j->hex, &j->bytes, &j->err);
    return NULL;
}

/* The trace's hash: on a thread (p->hashing) when ahead and one starts,
 * else here.  0, or -1 with err set. */
static int hash_trace(iosim_provenance_t *p, const char *trace, bool ahead,
                      iosim_err_t *err)
{
    if (!ahead)
        return sha256_file(trace, p->trace_sha256, &p->trace_bytes, err);
    FILE *f = fopen(trace, "rb");
    if (!f)
        return iosim_err_set(err, "%s: %s", trace, iosim_errno_str(errno));
    hash_job_t *j = calloc(1, sizeof *j);
    if (j) {
        j->f = f;
        j->path = trace;
        if (pthread_create(&j->th, NULL, hash_main, j) == 0) {
            p->hashing = j;
            return 0;
        }
        free(j);
    }
    int rc = sha256_stream(f, trace, p->trace_sha256, &p->trace_bytes, err);
    fclose(f);
    return rc;
}

int iosim_provenance_finish(iosim_provenance_t *p, iosim_err_t *err)
{
    hash_job_t *j = p->hashing;
    if (!j)
        return 0;
    pthread_join(j->th, NULL);
    fclose(j->f);
    p->hashing = NULL;
    int rc = j->rc;
    if (rc) {
        *err = j->err;
    } else {
        memcpy(p->trace_sha256, j->hex, sizeof p->trace_sha256);
        p->trace_bytes = j->bytes;
    }
    free(j);
    return rc;
}

static int fill(iosim_provenance_t *p, int argc, char *const *argv,
                const char *trace, const char *config_file, bool ahead,
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
    if ((regular(trace) && hash_trace(p, trace, ahead, err)) ||
        (config_file && regular(config_file) &&
         sha256_file(config_file, p->config_sha256, NULL, err))) {
        iosim_provenance_free(p);
        return -1;
    }
    return 0;
}

int iosim_provenance_fill(iosim_provenance_t *p, int argc, char *const *argv,
                          const char *trace, const char *config_file,
                          iosim_err_t *err)
{
    return fill(p, argc, argv, trace, config_file, false, err);
}

int iosim_provenance_fill_ahead(iosim_provenance_t *p, int argc,
                                char *const *argv, const char *trace,
                                const char *config_file, iosim_err_t *err)
{
    return fill(p, argc, argv, trace, config_file, true, err);
}

void iosim_provenance_free(iosim_provenance_t *p)
{
    iosim_err_t ignored;
    iosim_provenance_finish(p, &ignored);
    free(p->command);
    p->command = NULL;
}
