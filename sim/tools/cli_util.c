/* cli_util.c — see cli_util.h. */
#include "tools/cli_util.h"

#include "trace/gen.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *prog, const char *what,
                    void (*usage)(FILE *out, const void *arg), const void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        usage(m, arg);
        if (fclose(m) != 0) {
            free(text);
            text = NULL;
        }
    }
    /* the synopsis: the first line, up to a two-space gap before a note
     * ("iosim-trace COMMAND [ARGS]  (iosim-trace COMMAND --help ...)") */
    const char *line = text ? text : "";
    if (!strncmp(line, "usage: ", 7))
        line += 7;
    size_t n = strcspn(line, "\n");
    const char *gap = strstr(line, "  ");
    if (gap && (size_t)(gap - line) < n)
        n = (size_t)(gap - line);
    if (n)
        fprintf(stderr, "%s: %s (usage: %.*s; try --help)\n", prog, what,
                (int)n, line);
    else /* no memory for the usage text: the line without it */
        fprintf(stderr, "%s: %s (try --help)\n", prog, what);
    free(text);
    return IOSIM_EXIT_BAD_INPUT;
}

/* cli_first_word's usage printer in cli_usage_error's shape */
struct plain_usage {
    void (*fn)(FILE *out);
};
static void plain_usage(FILE *out, const void *arg)
{
    ((const struct plain_usage *)arg)->fn(out);
}

int cli_first_word(int argc, char **argv, void (*usage)(FILE *out),
                   const char *prog, const char *what)
{
    if (argc < 2) {
        struct plain_usage u = {usage};
        return cli_usage_error(prog, what, plain_usage, &u);
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    return -1;
}

int cli_flush_stdout(const char *prog)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    cli_error(prog, "stdout: cannot write: %s",
              iosim_errno_str(errno ? errno : EIO));
    return IOSIM_EXIT_BAD_INPUT;
}

int cli_parse_format(const char *s, iosim_format_t *out)
{
    if (strcmp(s, "text") == 0)
        *out = IOSIM_FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = IOSIM_FMT_JSON;
    else if (strcmp(s, "csv") == 0)
        *out = IOSIM_FMT_CSV;
    else
        return -1;
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    return gen_parse_u64(s, out); /* one parser for every size option */
}

int cli_parse_duration_ns(const char *s, uint64_t *out)
{
    /* no bare number: "10" meaning 10 ns is a trap (an epoch of 10 ns
     * is millions of rows) */
    // clang-format off
    static const struct { const char *unit; uint64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"ms", 1000000},
        {"s", 1000000000},
    };
    // clang-format on
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 19)
        return -1;
    uint64_t v = strtoull(s, NULL, 10);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(s + digits, units[i].unit) != 0)
            continue;
        if (v == 0 || v > UINT64_MAX / units[i].ns)
            return -1;
        *out = v * units[i].ns;
        return 0;
    }
    return -1;
}

/* ---- temporaries removed on a fatal signal ----------------------------
 * The handler may only use async-signal-safe calls: unlink() and _exit();
 * a slot is marked in use only once its name is complete. */
#define CLI_TEMPS 8
static char temp_names[CLI_TEMPS][PATH_MAX];
static volatile sig_atomic_t temp_used[CLI_TEMPS];

/* What an interrupt leaves: two buffers, the handler writes the one
 * note_cur names (switched only once the other is complete). */
static char note_buf[2][256];
static volatile sig_atomic_t note_cur = -1;

static void on_fatal_signal(int sig)
{
    for (size_t i = 0; i < CLI_TEMPS; i++)
        if (temp_used[i])
            unlink(temp_names[i]);
    int k = note_cur;
    if (k >= 0) {
        const char *m = note_buf[k];
        ssize_t rc = write(STDERR_FILENO, m, strlen(m));
        (void)rc;
    }
    _exit(128 + sig);
}

static void temps_install(void)
{
    static bool installed;
    if (installed)
        return;
    installed = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* a signal the caller ignores (a background job's SIGINT, nohup's
         * SIGHUP) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
}

void cli_temp_add(const char *path)
{
    temps_install();
    for (size_t i = 0; i < CLI_TEMPS; i++)
        if (!temp_used[i]) {
            snprintf(temp_names[i], sizeof temp_names[i], "%s", path);
            temp_used[i] = 1;
            return;
        }
}

void cli_temp_drop(const char *path)
{
    for (size_t i = 0; i < CLI_TEMPS; i++)
        if (temp_used[i] && !strcmp(temp_names[i], path))
            temp_used[i] = 0;
}

void cli_temp_add_trace(const char *path)
{
    char tmp[PATH_MAX];
    if (iosim_trace_temp_name(path, tmp, sizeof tmp) < (int)sizeof tmp)
        cli_temp_add(tmp);
}

void cli_interrupt_note(const char *fmt, ...)
{
    temps_install();
    int k = note_cur == 0 ? 1 : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(note_buf[k], sizeof note_buf[k] - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* one line: the progress line it may interrupt is ended first */
    size_t len = strlen(note_buf[k]);
    note_buf[k][len] = '\n';
    note_buf[k][len + 1] = '\0';
    note_cur = k;
}

/* Under AddressSanitizer (CI's second pass, -DIOSIM_SANITIZE=ON) the
 * programs meet bad input as a release build does:
 *   - a request for more memory than ASan can give (a size read from a
 *     damaged file: libtracecmd asks for 0x6e00000000000002 bytes for a
 *     trace.dat with one byte flipped inside a compressed section) returns
 *     NULL as glibc's malloc does, and the reader's own check turns it
 *     into the one-line error; ASan's default aborts (exit 134, its report
 *     lost in the output import_tracecmd.c captures while libtracecmd
 *     opens the file).  Every allocation of iosim's own is checked
 *     (tests/oom);
 *   - leaks of libtraceevent's tep_parse_event (its error path on a
 *     damaged event format in a trace.dat leaks the strings it built,
 *     libtraceevent 1.7; with detect_leaks=1 LeakSanitizer then made a
 *     good import fail) are not reported: they are not iosim's to fix.
 *     Every other leak still is (a handle iosim forgot to close leaks
 *     allocations made outside that function too).
 * An ASAN_OPTIONS given in the environment overrides these. */
#if defined(__SANITIZE_ADDRESS__)
#define CLI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_ASAN 1
#endif
#endif
#ifdef CLI_ASAN
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
/* no "Suppressions used" table after a good run: stderr stays as it is */
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
const char *__lsan_default_suppressions(void)
{
    return "leak:tep_parse_event\n";
}
#endif
