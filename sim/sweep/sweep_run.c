/* sweep_run.c — a sweep's shards and its results table (sweep.h).
 *
 * Concepts:
 *   - A shard file: a first line "# iosim sweep shard KEY" (KEY: the
 *     SHA-256 of what its rows depend on), then one line per
 *     configuration: the configuration as it ran (every key, in the
 *     order of the config echo), then the metrics, tab-separated, with
 *     tab, newline and backslash escaped.  It is written to a temporary
 *     and renamed into place (core/outfile.h), so it is whole or absent
 *     whatever kills the run.
 *   - The table: one row per (trace, configuration) in plan order; CSV
 *     (a header, RFC 4180 quoting, null = an empty field, as pandas and
 *     R read missing values) or JSON lines (typed values, null = null).
 *   - Local runs: up to `jobs` shards at once, each on its own thread
 *     with its own decode; a shard's sims share that thread (or, with
 *     fewer shards than jobs, the spare threads: engine.c), and sims of a
 *     shard that differ only in the IOTLB's geometry share runs where
 *     exact (share.c).
 * Assumptions: one process writes a shard at a time (a Slurm array gives
 *   each task its own shard).
 * Not modeled: nothing; plumbing.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/json.h"
#include "base/outfile.h"
#include "base/sha256.h"
#include "base/vec.h"
#include "config/config.h"
#include "sweep/sweep.h"

#define SHARD_MAGIC "# iosim sweep shard "

/* ------------------------------------------------------------------ */
/* cells                                                               */
/* ------------------------------------------------------------------ */

void sweep_metric_format(const sweep_metric_t *m, const iosim_sim_t *s,
                         char *buf, size_t n)
{
    double v;
    iosim_summary_t sm;
    switch (m->kind) {
    case SWEEP_STAT:
        snprintf(buf, n, "%llu",
                 (unsigned long long)iosim_sim_stat(s, m->index));
        return;
    case SWEEP_WARNING:
        snprintf(buf, n, "%llu",
                 (unsigned long long)iosim_sim_warning(s, m->index));
        return;
    case SWEEP_DERIVED:
        if (iosim_sim_derived(s, m->index, &v))
            snprintf(buf, n, "%.6f", v);
        else
            snprintf(buf, n, "%s", "");
        return;
    default:
        iosim_sim_summary(s, &sm);
        if (sm.valid)
            snprintf(buf, n, "%.6f", iosim_summary_field(&sm, m->index));
        else
            snprintf(buf, n, "%s", "");
        return;
    }
}

static void put_escaped(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\t')
            fputs("\\t", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else if (*v == '\\')
            fputs("\\\\", f);
        else
            fputc(*v, f);
    }
}

/* Cuts a shard line (no newline) into its cells in place, unescaping. */
static size_t split_cells(char *line, char **cells, size_t max)
{
    size_t n = 0;
    char *w = line;
    cells[n++] = w;
    for (char *r = line; *r; r++) {
        if (*r == '\t') {
            *w++ = '\0';
            if (n == max)
                return max + 1;
            cells[n++] = w;
        } else if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return n;
}

/* Every configuration key and value of c, in the echo's order. */
typedef struct kv {
    char **key, **val;
    size_t n, cap;
    bool oom;
} kv_t;

static void kv_free(kv_t *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->key[i]);
        free(kv->val[i]);
    }
    free(kv->key);
    free(kv->val);
    memset(kv, 0, sizeof *kv);
}

static void kv_add(const char *key, const char *value, iosim_ptype_t type,
                   void *arg)
{
    kv_t *kv = arg;
    (void)type;
    if (kv->oom)
        return;
    size_t capk = kv->cap, capv = kv->cap; /* one count, two arrays */
    if (vec_reserve(&kv->key, &capk, kv->n + 1, 256) ||
        vec_reserve(&kv->val, &capv, kv->n + 1, 256)) {
        kv->oom = true;
        return;
    }
    kv->cap = capk;
    kv->key[kv->n] = strdup(key);
    kv->val[kv->n] = strdup(value);
    if (!kv->key[kv->n] || !kv->val[kv->n]) {
        free(kv->key[kv->n]);
        free(kv->val[kv->n]);
        kv->oom = true;
        return;
    }
    kv->n++;
}

static int config_cells(const iosim_config_t *c, kv_t *kv, iosim_err_t *err)
{
    memset(kv, 0, sizeof *kv);
    config_each(c, kv_add, kv);
    if (kv->oom) {
        kv_free(kv);
        return iosim_err_set(err, "out of memory");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the traces' hashes                                                  */
/* ------------------------------------------------------------------ */

/* iosim_sweep_run's: a thread hashing the traces in order while the
 * shards run (none: `running` never set).  The lock orders a trace's
 * hash before any reader's use of it (its `hashed` is set under it). */
struct sweep_hasher {
    const iosim_sweep_t *s;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    pthread_t th;
    bool thread;        /* th was started */
    bool running, stop; /* under lock */
    size_t failed;      /* under lock: the trace that failed, or SIZE_MAX */
    iosim_err_t err;    /* its error */
};

static void *hasher_main(void *arg)
{
    sweep_hasher_t *h = arg;
    const iosim_sweep_t *s = h->s;
    for (size_t k = 0; k < s->ntraces; k++) {
        sweep_trace_t *t = &s->traces[k];
        pthread_mutex_lock(&h->lock);
        bool skip = h->stop || t->hashed;
        bool stop = h->stop;
        pthread_mutex_unlock(&h->lock);
        if (stop)
            break;
        if (skip)
            continue;
        char hex[65];
        uint64_t bytes;
        iosim_err_t e;
        int rc = sha256_file(t->path, hex, &bytes, &e);
        pthread_mutex_lock(&h->lock);
        if (rc) {
            h->failed = k;
            h->err = e;
        } else {
            memcpy(t->sha256, hex, sizeof hex);
            t->bytes = bytes;
            t->hashed = true;
        }
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->lock);
        if (rc)
            break;
    }
    pthread_mutex_lock(&h->lock);
    h->running = false;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* The hasher of s, its thread started when `ahead` (and it can be). */
static sweep_hasher_t *hasher_new(iosim_sweep_t *s, bool ahead)
{
    sweep_hasher_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->s = s;
    h->failed = SIZE_MAX;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->running = ahead; /* (before the thread, which clears it) */
    h->thread = ahead && !pthread_create(&h->th, NULL, hasher_main, h);
    if (!h->thread)
        h->running = false; /* no thread: each hashed when needed */
    return h;
}

void sweep_hasher_free(sweep_hasher_t *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_mutex_unlock(&h->lock);
    if (h->thread)
        pthread_join(h->th, NULL);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cv);
    free(h);
}

int sweep_trace_hash(const iosim_sweep_t *s, size_t k, iosim_err_t *err)
{
    sweep_trace_t *t = &s->traces[k];
    sweep_hasher_t *h = s->hasher;
    if (!h) { /* outside iosim_sweep_run: one thread */
        if (!t->hashed && sha256_file(t->path, t->sha256, &t->bytes, err))
            return -1;
        t->hashed = true;
        return 0;
    }
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    while (h->running && !t->hashed && h->failed != k)
        pthread_cond_wait(&h->cv, &h->lock);
    if (!t->hashed && h->failed == k) {
        *err = h->err;
        rc = -1;
    } else if (!t->hashed) { /* (the thread ended before it) */
        rc = sha256_file(t->path, t->sha256, &t->bytes, err);
        t->hashed = rc == 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* ------------------------------------------------------------------ */
/* shards                                                              */
/* ------------------------------------------------------------------ */

static void shard_key(const iosim_sweep_t *s, size_t i, char hex[65])
{
    iosim_err_t ignored; /* (reported where a shard is written or merged) */
    sweep_trace_hash(s, i / s->shards_per_trace, &ignored);
    const sweep_trace_t *t = &s->traces[i / s->shards_per_trace];
    char text[1024];
    snprintf(text, sizeof text,
             "iosim %s\nsweep %s\nconfig %s\ntrace %s\n%s\nshard %zu of %zu\n",
             IOSIM_VERSION_STRING, s->sha256, s->config_sha256, t->sha256,
             t->name, i, s->shard_size);
    sha256_t h;
    sha256_init(&h);
    sha256_update(&h, text, strlen(text));
    sha256_final_hex(&h, hex);
}

int sweep_shard_path(const iosim_sweep_t *s, size_t i, char *buf, size_t n)
{
    char key[65];
    shard_key(s, i, key);
    return snprintf(buf, n, "%s/shard-%05zu-%.12s.tsv", s->dir, i, key);
}

int iosim_sweep_set_dir(iosim_sweep_t *s, const char *dir, iosim_err_t *err)
{
    if (!dir[0])
        return iosim_err_set(err, "'': an empty directory name");
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return iosim_err_set(err, "%s: not a directory", dir);
    } else if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        return iosim_err_set(err, "%s: cannot create: %s", dir,
                             strerror(errno));
    }
    char *d = strdup(dir);
    if (!d)
        return iosim_err_set(err, "out of memory");
    free(s->dir);
    s->dir = d;
    return 0;
}

const char *iosim_sweep_dir(const iosim_sweep_t *s) { return s->dir; }

bool iosim_sweep_shard_done(const iosim_sweep_t *s, size_t i)
{
    char path[4096], key[65], line[128], want[128];
    sweep_shard_path(s, i, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    shard_key(s, i, key);
    snprintf(want, sizeof want, SHARD_MAGIC "%s\n", key);
    bool ok = fgets(line, sizeof line, f) && !strcmp(line, want);
    fclose(f);
    return ok;
}

static int write_shard(const iosim_sweep_t *s, size_t i, iosim_sim_t **sims,
                       size_t n, iosim_err_t *err)
{
    char path[4096], key[65];
    if (sweep_trace_hash(s, i / s->shards_per_trace, err))
        return -1;
    sweep_shard_path(s, i, path, sizeof path);
    shard_key(s, i, key);
    char *tmp;
    FILE *f;
    if (outfile_open(path, "w", &tmp, &f, err))
        return -1;
    fprintf(f, SHARD_MAGIC "%s\n", key);
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        kv_t kv;
        if (config_cells(iosim_sim_config(sims[k]), &kv, err)) {
            rc = -1;
            break;
        }
        for (size_t c = 0; c < kv.n; c++) {
            if (c)
                fputc('\t', f);
            put_escaped(f, kv.val[c]);
        }
        kv_free(&kv);
        for (size_t m = 0; m < s->nmetrics; m++) {
            char v[64];
            sweep_metric_format(&s->metrics[m], sims[k], v, sizeof v);
            fputc('\t', f);
            fputs(v, f);
        }
        fputc('\n', f);
    }
    return outfile_close(path, f, tmp, rc == 0, err) || rc ? -1 : 0;
}

/* Shard i, known not to be done. */
static int run_shard(iosim_sweep_t *s, size_t i, unsigned threads,
                     iosim_err_t *err)
{
    const sweep_trace_t *t = &s->traces[i / s->shards_per_trace];
    size_t first = (i % s->shards_per_trace) * s->shard_size;
    size_t n =
        s->npoints - first < s->shard_size ? s->npoints - first : s->shard_size;
    iosim_sim_t **sims = calloc(n, sizeof *sims);
    if (!sims)
        return iosim_err_set(err, "out of memory");
    int rc = -1;
    iosim_trace_reader_t *r = iosim_trace_open(t->path, err);
    if (!r)
        goto out;
    for (size_t k = 0; k < n; k++)
        if (!(sims[k] = iosim_point_sim_new(s->base, &s->points[first + k],
                                            iosim_trace_meta(r), err))) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            iosim_err_set(err, "%s: %s", t->name, msg);
            goto out;
        }
    char note[512]; /* the table has no column for how the sims ran */
    if (iosim_replay_shared(r, t->path, sims, n, threads, NULL, NULL, note,
                            sizeof note, err))
        goto out;
    rc = write_shard(s, i, sims, n, err);
out:
    for (size_t k = 0; k < n; k++)
        iosim_sim_free(sims[k]);
    free(sims);
    if (r)
        iosim_trace_close(r);
    return rc;
}

int iosim_sweep_run_shard(iosim_sweep_t *s, size_t i, unsigned threads,
                          iosim_err_t *err)
{
    if (i >= iosim_sweep_shard_count(s))
        return iosim_err_set(err, "shard %zu: the sweep has %zu (0..%zu)", i,
                             iosim_sweep_shard_count(s),
                             iosim_sweep_shard_count(s) - 1);
    if (sweep_trace_hash(s, i / s->shards_per_trace, err))
        return -1;
    return iosim_sweep_shard_done(s, i) ? 0 : run_shard(s, i, threads, err);
}

/* Which shards have a file of their number in the directory (of this
 * sweep or not: the key tells, iosim_sweep_shard_done); a shard without
 * one is not done, and finding that needs no hash.  NULL: all may. */
static bool *shard_files(const iosim_sweep_t *s, size_t total)
{
    bool *there = calloc(total + 1, sizeof *there);
    DIR *d = there ? opendir(s->dir) : NULL;
    if (!d) {
        free(there);
        return NULL;
    }
    for (struct dirent *e; (e = readdir(d));) {
        size_t i;
        char dash;
        if (sscanf(e->d_name, "shard-%zu%c", &i, &dash) == 2 && dash == '-' &&
            i < total)
            there[i] = true;
    }
    closedir(d);
    return there;
}

/* ------------------------------------------------------------------ */
/* local runs                                                          */
/* ------------------------------------------------------------------ */

typedef struct pool {
    iosim_sweep_t *s;
    pthread_mutex_t lock;
    pthread_cond_t ended;
    size_t *todo, ntodo, next, ended_n, alive;
    unsigned threads_per_shard;
    bool stop;
    iosim_err_t *errs; /* per entry of todo */
    bool *failed;
} pool_t;

static void *worker(void *arg)
{
    pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t j = p->stop ? p->ntodo : p->next++;
        pthread_mutex_unlock(&p->lock);
        if (j >= p->ntodo) {
            pthread_mutex_lock(&p->lock);
            p->alive--;
            pthread_cond_signal(&p->ended);
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        bool bad =
            run_shard(p->s, p->todo[j], p->threads_per_shard, &p->errs[j]) != 0;
        pthread_mutex_lock(&p->lock);
        p->failed[j] = bad;
        p->stop |= bad;
        p->ended_n++;
        pthread_cond_signal(&p->ended);
        pthread_mutex_unlock(&p->lock);
    }
}

int iosim_sweep_run(iosim_sweep_t *s, unsigned jobs,
                    iosim_sweep_progress_fn progress, void *arg,
                    iosim_err_t *err)
{
    size_t total = iosim_sweep_shard_count(s);
    pool_t p = {.s = s};
    p.todo = calloc(total + 1, sizeof *p.todo);
    p.errs = calloc(total + 1, sizeof *p.errs);
    p.failed = calloc(total + 1, sizeof *p.failed);
    if (!p.todo || !p.errs || !p.failed) {
        free(p.todo);
        free(p.errs);
        free(p.failed);
        return iosim_err_set(err, "out of memory");
    }
    if (jobs == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c > 0 ? (unsigned)c : 1;
    }
    /* the traces hashed on a thread of their own while the shards run
     * (with one job, each when its first shard needs it) */
    if (!s->hasher)
        s->hasher = hasher_new(s, jobs > 1);
    bool *there = shard_files(s, total);
    for (size_t i = 0; i < total; i++)
        if (!(there ? there[i] : true) || !iosim_sweep_shard_done(s, i))
            p.todo[p.ntodo++] = i;
    free(there);
    size_t workers = jobs < p.ntodo ? jobs : p.ntodo;
    p.threads_per_shard = workers ? jobs / (unsigned)workers : 1;
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.ended, NULL);
    pthread_t *tid = calloc(workers + 1, sizeof *tid);
    size_t started = 0;
    int rc = 0;
    if (!tid) {
        rc = iosim_err_set(err, "out of memory");
        workers = 0;
    }
    pthread_mutex_lock(&p.lock);
    for (; started < workers; started++) {
        p.alive++;
        if (pthread_create(&tid[started], NULL, worker, &p) != 0) {
            p.alive--;
            break;
        }
    }
    pthread_mutex_unlock(&p.lock);
    if (workers && !started) {
        /* no thread: run them here */
        p.alive = 1;
        worker(&p);
    }
    size_t seen = 0;
    if (progress)
        progress(total - p.ntodo, total, arg);
    pthread_mutex_lock(&p.lock);
    while (p.alive) {
        pthread_cond_wait(&p.ended, &p.lock);
        if (progress && p.ended_n != seen) {
            seen = p.ended_n;
            size_t done = total - p.ntodo + seen;
            pthread_mutex_unlock(&p.lock);
            progress(done, total, arg);
            pthread_mutex_lock(&p.lock);
        }
    }
    pthread_mutex_unlock(&p.lock);
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    for (size_t j = 0; j < p.ntodo && !rc; j++)
        if (p.failed[j]) {
            *err = p.errs[j];
            rc = -1;
        }
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.ended);
    free(tid);
    free(p.todo);
    free(p.errs);
    free(p.failed);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the table                                                           */
/* ------------------------------------------------------------------ */

typedef enum col_type { COL_STR, COL_INT, COL_NUM, COL_BOOL } col_type_t;

typedef struct table {
    FILE *out;
    iosim_format_t fmt;
    size_t col;
} table_t;

static void cell(table_t *t, const char *name, const char *v, col_type_t ty)
{
    if (t->fmt == IOSIM_FMT_CSV) {
        if (t->col++)
            fputc(',', t->out);
        if (ty == COL_STR)
            csv_write_field(t->out, v);
        else
            fputs(v, t->out); /* null: the empty field */
        return;
    }
    fputs(t->col++ ? ", " : "{", t->out);
    json_write_string(t->out, name);
    fputs(": ", t->out);
    if (ty == COL_STR)
        json_write_string(t->out, v);
    else
        fputs(v[0] ? v : "null", t->out);
}

static void header(table_t *t, const char *name)
{
    if (t->col++)
        fputc(',', t->out);
    csv_write_field(t->out, name);
}

static col_type_t key_type(const char *key)
{
    const iosim_param_t *p = iosim_param_find(key);
    if (!p || p->type == IOSIM_P_STR)
        return COL_STR;
    if (p->type == IOSIM_P_BOOL)
        return COL_BOOL;
    return p->type == IOSIM_P_F64 ? COL_NUM : COL_INT;
}

static const char *const prov_cols[] = {
    "iosim_version", "command",       "sweep_file", "sweep_sha256",
    "config_file",   "config_sha256", "trace",      "trace_bytes",
    "trace_sha256",  "label",         "variant"};
#define N_PROV (sizeof prov_cols / sizeof prov_cols[0])

int iosim_sweep_merge(const iosim_sweep_t *s, FILE *out, iosim_format_t fmt,
                      iosim_err_t *err)
{
    if (fmt == IOSIM_FMT_TEXT)
        return iosim_err_set(err, "a sweep's table is csv or json");
    size_t total = iosim_sweep_shard_count(s), missing = 0;
    for (size_t k = 0; k < s->ntraces; k++)
        if (sweep_trace_hash(s, k, err))
            return -1;
    for (size_t i = 0; i < total; i++)
        missing += !iosim_sweep_shard_done(s, i);
    if (missing)
        return iosim_err_set(err,
                             "%s: %zu of %zu shards not run yet (in "
                             "%s)",
                             s->file, missing, total, s->dir);
    kv_t base;
    if (config_cells(s->base, &base, err))
        return -1;
    /* where each swept key is among the config cells; the others after
     * the metrics */
    size_t *swept_at = calloc(s->nswept + 1, sizeof *swept_at);
    bool *is_swept = calloc(base.n + 1, sizeof *is_swept);
    char **cells = calloc(base.n + s->nmetrics + 2, sizeof *cells);
    char *line = NULL;
    size_t cap = 0;
    int rc = -1;
    if (!swept_at || !is_swept || !cells) {
        iosim_err_set(err, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < s->nswept; k++)
        for (size_t c = 0; c < base.n; c++)
            if (!strcmp(base.key[c], s->swept[k])) {
                swept_at[k] = c;
                is_swept[c] = true;
            }
    table_t t = {out, fmt, 0};
    if (fmt == IOSIM_FMT_CSV) {
        for (size_t c = 0; c < N_PROV; c++)
            header(&t, prov_cols[c]);
        for (size_t k = 0; k < s->nswept; k++)
            header(&t, s->swept[k]);
        for (size_t m = 0; m < s->nmetrics; m++)
            header(&t, sweep_metric_name(&s->metrics[m]));
        for (size_t c = 0; c < base.n; c++)
            if (!is_swept[c])
                header(&t, base.key[c]);
        fputc('\n', out);
    }
    for (size_t i = 0; i < total; i++) {
        char path[4096];
        sweep_shard_path(s, i, path, sizeof path);
        FILE *f = fopen(path, "r");
        if (!f) {
            iosim_err_set(err, "%s: %s", path, strerror(errno));
            goto out;
        }
        const sweep_trace_t *tr = &s->traces[i / s->shards_per_trace];
        size_t first = (i % s->shards_per_trace) * s->shard_size;
        size_t n = s->npoints - first < s->shard_size ? s->npoints - first
                                                      : s->shard_size;
        ssize_t len = getline(&line, &cap, f); /* the key line */
        size_t k = 0;
        for (; len >= 0 && k < n; k++) {
            len = getline(&line, &cap, f);
            if (len <= 0 || line[len - 1] != '\n')
                break;
            line[len - 1] = '\0';
            size_t nc = split_cells(line, cells, base.n + s->nmetrics + 1);
            if (nc != base.n + s->nmetrics)
                break;
            const iosim_point_t *pt = &s->points[first + k];
            char label[256], bytes[32];
            iosim_point_label(s->base, pt, label, sizeof label);
            snprintf(bytes, sizeof bytes, "%llu",
                     (unsigned long long)tr->bytes);
            const char *prov[N_PROV] = {IOSIM_VERSION_STRING,
                                        s->command,
                                        s->file,
                                        s->sha256,
                                        s->config_name,
                                        s->config_sha256,
                                        tr->name,
                                        bytes,
                                        tr->sha256,
                                        label,
                                        pt->name};
            t.col = 0;
            for (size_t c = 0; c < N_PROV; c++)
                cell(&t, prov_cols[c], prov[c], c == 7 ? COL_INT : COL_STR);
            for (size_t w = 0; w < s->nswept; w++)
                cell(&t, s->swept[w], cells[swept_at[w]],
                     key_type(s->swept[w]));
            for (size_t m = 0; m < s->nmetrics; m++)
                cell(&t, sweep_metric_name(&s->metrics[m]), cells[base.n + m],
                     COL_NUM);
            for (size_t c = 0; c < base.n; c++)
                if (!is_swept[c])
                    cell(&t, base.key[c], cells[c], key_type(base.key[c]));
            fputs(fmt == IOSIM_FMT_CSV ? "\n" : "}\n", out);
        }
        fclose(f);
        if (k != n) {
            iosim_err_set(err,
                          "%s: line %zu: not a row of this sweep (a "
                          "damaged shard: remove it and run again)",
                          path, k + 2);
            goto out;
        }
    }
    rc = 0;
out:
    free(line);
    free(cells);
    free(swept_at);
    free(is_swept);
    kv_free(&base);
    return rc;
}
