/* replay_main.c — runs a fuzz target without libFuzzer: every corpus file
 * once, then N seeded mutations of it, so the ctest run of a target is a
 * regression test of the corpus that also explores a little beyond it.
 *
 * Concepts:
 *   - Arguments: corpus directories (every regular file, sorted by name)
 *     or single files.  -n N mutations per file (default 32), -s SEED.
 *   - A mutation applies 1-4 edits drawn from: bit flip, byte set to an
 *     "interesting" value (0, 0xff, '\n', '=', ...), random byte,
 *     truncation, range deletion, insertion of bytes, duplication of a
 *     range, a digit changed, a long number spliced in, and a splice with
 *     another corpus file (head of one + tail of the other).
 *   - Determinism: the PRNG (splitmix64, Steele et al., OOPSLA 2014) of
 *     mutation k of file F is seeded from SEED, F's base name and k only,
 *     so a failure names (file, k) and reproduces with the same -s.
 *   - On a crash (signal, abort, or a sanitizer report) the input that
 *     caused it is written to ./replay-crash-<file>-<k> and named on
 *     stderr, ready to be added to the corpus.
 * Assumptions: the corpus fits in memory (it is a few hundred KB).
 * Not modeled: coverage guidance (that is what libFuzzer builds are for,
 *   see README.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/vec.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present when linked with a sanitizer runtime; called before it exits. */
extern void __sanitizer_set_death_callback(void (*cb)(void))
    __attribute__((weak));

#define REPLAY_DEFAULT_MUTATIONS 32ul
#define REPLAY_MAX_SIZE (1u << 20) /* mutants never grow beyond 1 MiB */

typedef struct input {
    char *path;
    const char *base; /* file name without directories */
    uint8_t *data;
    size_t size;
} input_t;

static const char *prog = "replay";

/* What is running now, for the crash report (set before every call). */
static const uint8_t *cur_data;
static size_t cur_size;
static char crash_path[512];
static char crash_msg[1200];
static volatile sig_atomic_t crash_reported;

static void report_crash(void)
{
    if (crash_reported)
        return;
    crash_reported = 1;
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t off = 0;
        while (off < cur_size) {
            ssize_t k = write(fd, cur_data + off, cur_size - off);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        close(fd);
    }
    ssize_t ignored = write(2, crash_msg, strlen(crash_msg));
    (void)ignored;
}

static void on_signal(int sig)
{
    report_crash();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Catches fatal signals nobody else handles: a sanitizer runtime installs
 * its own SEGV/BUS/FPE handlers (and reports through the death callback),
 * so only default dispositions are replaced.  The handler runs on an
 * alternate stack so that a stack overflow is reported too. */
static void install_handlers(void)
{
    static char altstack[64 * 1024];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, NULL);
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 ||
            (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* PRNG and mutations                                                  */
/* ------------------------------------------------------------------ */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform-enough value in [0, n) for the small n used here; n > 0. */
static size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

/* FNV-1a, 64-bit: mixes the file name into the seed. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

/* Bytes that matter to the parsers: separators, number edges, the zstd
 * magic's first byte, NUL. */
static const uint8_t interesting[] = {
    0x00, 0xff, 0x7f, 0x80, 0x01, 0x28, '\n', '\r', '\t', ' ',
    '#',  '=',  ':',  '.',  '-',  '[',  ']',  '{',  '}',  '&',
    '*',  '|',  '"',  '\'', '0',  '9',  'x',  'f',
};

static const char *const long_tokens[] = {
    "18446744073709551615",
    "18446744073709551616",
    "0xffffffffffffffff",
    "0x10000000000000000",
    "4294967296",
    "99999999999999999999999",
    "-1",
    "1e309",
    "nan",
    "0x",
    "&a",
    "*a",
    "<<: *a",
    "!!binary ",
};

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t need)
{
    if (vec_reserve(&b->p, &b->cap, need, 64)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(2);
    }
}

/* Inserts n bytes at pos (src may be NULL: random bytes). */
static void buf_insert(buf_t *b, size_t pos, const uint8_t *src, size_t n)
{
    if (b->len + n > REPLAY_MAX_SIZE)
        return;
    buf_reserve(b, b->len + n);
    memmove(b->p + pos + n, b->p + pos, b->len - pos);
    for (size_t i = 0; i < n; i++)
        b->p[pos + i] = src ? src[i] : (uint8_t)rng_next();
    b->len += n;
}

static void buf_delete(buf_t *b, size_t pos, size_t n)
{
    memmove(b->p + pos, b->p + pos + n, b->len - pos - n);
    b->len -= n;
}

/* A short length: mostly 1-8, sometimes up to 64. */
static size_t small_len(void)
{
    return rng_below(4) ? 1 + rng_below(8) : 1 + rng_below(64);
}

static void mutate_once(buf_t *b, const input_t *all, size_t nall)
{
    unsigned op = (unsigned)rng_below(11);
    if (b->len == 0)
        op = 5; /* only growing makes sense */
    switch (op) {
    case 0: { /* bit flip */
        size_t pos = rng_below(b->len);
        b->p[pos] ^= (uint8_t)(1u << rng_below(8));
        break;
    }
    case 1: /* interesting byte */
        b->p[rng_below(b->len)] = interesting[rng_below(sizeof interesting)];
        break;
    case 2: /* random byte */
        b->p[rng_below(b->len)] = (uint8_t)rng_next();
        break;
    case 3: /* truncate */
        b->len = rng_below(b->len);
        break;
    case 4: { /* delete a range */
        size_t pos = rng_below(b->len);
        size_t n = small_len();
        if (n > b->len - pos)
            n = b->len - pos;
        buf_delete(b, pos, n);
        break;
    }
    case 5: { /* insert random or interesting bytes */
        size_t pos = rng_below(b->len + 1);
        if (rng_below(2)) {
            uint8_t c = interesting[rng_below(sizeof interesting)];
            buf_insert(b, pos, &c, 1);
        } else {
            buf_insert(b, pos, NULL, small_len());
        }
        break;
    }
    case 6: { /* duplicate a range somewhere else */
        size_t from = rng_below(b->len);
        size_t n = small_len() * (1 + rng_below(8));
        if (n > b->len - from)
            n = b->len - from;
        uint8_t *copy = malloc(n);
        if (!copy)
            break;
        memcpy(copy, b->p + from, n);
        buf_insert(b, rng_below(b->len + 1), copy, n);
        free(copy);
        break;
    }
    case 7: { /* change a digit (numbers are everywhere in these formats) */
        size_t start = rng_below(b->len);
        for (size_t i = 0; i < b->len; i++) {
            size_t pos = (start + i) % b->len;
            if (b->p[pos] >= '0' && b->p[pos] <= '9') {
                b->p[pos] = (uint8_t)('0' + rng_below(10));
                break;
            }
        }
        break;
    }
    case 8: { /* splice in a long or boundary token */
        const char *t =
            long_tokens[rng_below(sizeof long_tokens / sizeof long_tokens[0])];
        buf_insert(b, rng_below(b->len + 1), (const uint8_t *)t, strlen(t));
        break;
    }
    case 9:
    case 10: { /* head of this input + tail of another corpus file */
        const input_t *o = &all[rng_below(nall)];
        size_t cut = rng_below(b->len + 1);
        size_t from = o->size ? rng_below(o->size) : 0;
        size_t n = o->size - from;
        if (cut + n > REPLAY_MAX_SIZE)
            n = REPLAY_MAX_SIZE - cut;
        b->len = cut;
        buf_reserve(b, cut + n);
        if (n)
            memcpy(b->p + cut, o->data + from, n);
        b->len = cut + n;
        break;
    }
    }
}

/* ------------------------------------------------------------------ */
/* Corpus                                                              */
/* ------------------------------------------------------------------ */
static int read_file(const char *path, input_t *in)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    buf_t b = {NULL, 0, 0};
    uint8_t chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_reserve(&b, b.len + k);
        memcpy(b.p + b.len, chunk, k);
        b.len += k;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: %s: read error\n", prog, path);
        free(b.p);
        return -1;
    }
    in->path = strdup(path);
    if (!in->path) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(b.p);
        return -1;
    }
    const char *slash = strrchr(in->path, '/');
    in->base = slash ? slash + 1 : in->path;
    in->data = b.p;
    in->size = b.len;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct corpus {
    input_t *in;
    size_t n, cap;
} corpus_t;

static int add_file(corpus_t *c, const char *path)
{
    if (vec_reserve(&c->in, &c->cap, c->n + 1, 64)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return -1;
    }
    if (read_file(path, &c->in[c->n]) != 0)
        return -1;
    c->n++;
    return 0;
}

/* Adds a file, or every regular file of a directory in name order. */
static int add_path(corpus_t *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(c, path);
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (vec_reserve(&names, &cap, n + 1, 64)) {
            fprintf(stderr, "%s: out of memory\n", prog);
            rc = -1;
            break;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            fprintf(stderr, "%s: out of memory\n", prog);
            rc = -1;
            break;
        }
        snprintf(full, len, "%s/%s", path, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            names[n++] = full;
        else
            free(full);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = add_file(c, names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */
static void run_one(const input_t *in, unsigned long k, const uint8_t *data,
                    size_t size)
{
    cur_data = data;
    cur_size = size;
    snprintf(crash_path, sizeof crash_path, "replay-crash-%s-%lu", in->base, k);
    if (k == 0)
        snprintf(crash_msg, sizeof crash_msg,
                 "%s: crashed on corpus file %s; input copied to ./%s\n", prog,
                 in->path, crash_path);
    else
        snprintf(crash_msg, sizeof crash_msg,
                 "%s: crashed on mutation %lu of %s; input saved to ./%s\n",
                 prog, k, in->path, crash_path);
    int rc = LLVMFuzzerTestOneInput(data, size);
    if (rc != 0 && rc != -1) {
        fputs(crash_msg, stderr);
        fprintf(stderr, "%s: LLVMFuzzerTestOneInput returned %d\n", prog, rc);
        exit(1);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: %s [-n MUTATIONS] [-s SEED] CORPUS_DIR|FILE...\n",
            prog);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    prog = slash ? slash + 1 : argv[0];
    unsigned long mutations = REPLAY_DEFAULT_MUTATIONS;
    uint64_t seed = 1;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:h")) != -1) {
        char *end;
        switch (opt) {
        case 'n':
            mutations = strtoul(optarg, &end, 10);
            if (*end || !*optarg)
                usage();
            break;
        case 's':
            seed = strtoull(optarg, &end, 0);
            if (*end || !*optarg)
                usage();
            break;
        default:
            usage();
        }
    }
    if (optind == argc)
        usage();

    corpus_t c = {NULL, 0, 0};
    for (int i = optind; i < argc; i++)
        if (add_path(&c, argv[i]) != 0)
            return 2;
    if (c.n == 0) {
        fprintf(stderr, "%s: no corpus files found\n", prog);
        return 2;
    }

    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(report_crash);
    install_handlers();

    buf_t b = {NULL, 0, 0};
    unsigned long runs = 0;
    for (size_t i = 0; i < c.n; i++) {
        const input_t *in = &c.in[i];
        /* an exact-size heap copy, so reads past the end are caught */
        uint8_t *copy = malloc(in->size ? in->size : 1);
        if (!copy) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return 2;
        }
        if (in->size)
            memcpy(copy, in->data, in->size);
        run_one(in, 0, copy, in->size);
        free(copy);
        runs++;
        for (unsigned long k = 1; k <= mutations; k++) {
            rng_state = seed ^ name_hash(in->base) ^
                        (uint64_t)k * UINT64_C(0x2545f4914f6cdd1d);
            b.len = 0;
            buf_reserve(&b, in->size + 1);
            if (in->size)
                memcpy(b.p, in->data, in->size);
            b.len = in->size;
            unsigned edits = 1 + (unsigned)rng_below(4);
            for (unsigned e = 0; e < edits; e++)
                mutate_once(&b, c.in, c.n);
            copy = malloc(b.len ? b.len : 1);
            if (!copy) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return 2;
            }
            if (b.len)
                memcpy(copy, b.p, b.len);
            run_one(in, k, copy, b.len);
            free(copy);
            runs++;
        }
    }
    printf("%s: %zu corpus files, %lu inputs (%lu mutations each, seed "
           "%llu): no failure\n",
           prog, c.n, runs, mutations, (unsigned long long)seed);
    free(b.p);
    for (size_t i = 0; i < c.n; i++) {
        free(c.in[i].path);
        free(c.in[i].data);
    }
    free(c.in);
    return 0;
}
