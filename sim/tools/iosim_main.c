/* iosim_main.c — the iosim program: replay a trace through the model.
 *
 *   iosim --config configs/vtd.yaml [--set k=v ...] [--format text|json|csv]
 *         [--compare strict,lazy,...] [--threads N] [-o OUT]
 *         [--epoch DURATION --epoch-out FILE] [--xlate-log FILE]
 *         [--dump-accesses FILE] TRACE
 *
 * Only this file (and the other program) may exit.  Bad input of any kind
 * prints one line and exits 2; no partial output file is left behind. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/outfile.h"
#include "cache/cache.h"
#include "dev/dev.h"
#include "hv/hv.h"
#include "iosim.h"
#include "os/os.h"
#include "tools/cli_util.h"
#include "tools/iotlb_sweep_cmd.h"
#include "tools/sweep_cmd.h"

#define PROG "iosim"
#define MAX_SETS 256
#define MAX_COMPARE 256
#define MAX_SWEEPS 8
#define MAX_THREADS 1024

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iosim [OPTIONS] TRACE\n"
        "Replays a DMA trace (binary .zst or text form) through a modeled\n"
        "Intel VT-d IOMMU with a guest-OS policy and a hypervisor mode.\n\n"
        "options:\n"
        "  -c, --config FILE     YAML configuration (default: built-in "
        "defaults)\n"
        "  -s, --set KEY=VALUE   override one parameter (repeatable)\n"
        "  -f, --format FMT      text (default), json or csv\n"
        "  -o, --output FILE     write the report to FILE (default stdout)\n"
        "      --compare LIST    run several policies in one pass, e.g.\n"
        "                        strict,lazy,passthrough; an item may name a\n"
        "                        hypervisor mode too: strict@emulated (the\n"
        "                        mode brings the settings it needs, e.g.\n"
        "                        caching mode for @emulated), and a kernel:\n"
        "                        strict@emulated:6.1,strict@emulated:6.12\n"
        "                        (os.kernel; default: the trace's)\n"
        "      --sweep KEY=V1,V2 one configuration per value, in the same "
        "pass;\n"
        "                        several --sweep (and --compare) combine "
        "as a\n"
        "                        cartesian product, e.g. --sweep "
        "vtd.iotlb.ways=4,8,16\n"
        "      --epoch DURATION  time series: every counter per DURATION of\n"
        "                        trace time (e.g. 1ms; units ns, us, ms, s),\n"
        "                        one CSV row per epoch and configuration\n"
        "                        (at most 1,000,000), written to --epoch-out\n"
        "      --epoch-out FILE  where the --epoch rows go (plot them with\n"
        "                        scripts/plot_epochs.py)\n"
        "      --xlate-log FILE  one CSV row per translated 4 KB page and\n"
        "                        configuration (result devtlb, iotlb, walk,\n"
        "                        fault; memory reads; latency), whole trace:\n"
        "                        large, for explaining short traces\n"
        "      --dump-accesses FILE\n"
        "                        one CSV row per 4 KB page of every device\n"
        "                        access: the trace's DMA records or the\n"
        "                        device model's (and what the model calls\n"
        "                        it: rx.avail.idx, tx.buf, ...), the IOTLB\n"
        "                        outcome, the MAP record holding the page;\n"
        "                        whole trace (compare two with\n"
        "                        scripts/access-diff)\n"
        "      --threads N       run the configurations on N threads "
        "(default 1;\n"
        "                        0 = one per CPU); the output is the same;\n"
        "                        threads beyond the configurations update\n"
        "                        a shared sweep's stack-distance shadows\n"
        "                        and decode the trace (format v2) ahead\n"
        "      --plain           every configuration runs as its own sim\n"
        "                        (default: configurations that differ only\n"
        "                        in the IOTLB's sets/ways and whose IOTLBs\n"
        "                        hit and miss alike share one run; the\n"
        "                        report's '# replay:' line says so)\n"
        "      --progress        progress line on stderr (default: when "
        "stderr\n"
        "                        is a terminal)\n"
        "      --no-progress     never print progress\n"
        "      --strict-input    refuse what is suspicious but replayable in\n"
        "                        the trace (stray unmaps, DMA to unmapped\n"
        "                        IOVAs, time going backwards, wrapped\n"
        "                        ranges: the report's [warnings] block)\n"
        "      --help-config [KEY] list every parameter (or those under KEY:\n"
        "                        vtd.iotlb; or containing it: iotlb) with its\n"
        "                        default, range and source\n"
        "      --list            list policies, hypervisor modes and cache\n"
        "                        replacement policies\n"
        "      --list-stats      every counter, derived metric, warning and\n"
        "                        summary field: section, name, unit, meaning\n"
        "      --version         print the version\n"
        "  -h, --help            this text\n\n" CLI_EXIT_STATUS_HELP);
}

/* One plug-in of --list: name, summary, source and, when it has any, what
 * it describes of itself (its parameters, a check, implied settings). */
static void list_one(int width, const char *name, const char *summary,
                     const char *source, const iosim_plugin_params_t *pp)
{
    printf("  %-*s %s", width, name, summary);
    if (source)
        printf(" [%s]", source);
    const char *open = " {"; /* then "; " between the parts */
    if (pp->rows && pp->rows[0].path) {
        printf("%sparams:", open);
        for (size_t k = 0; pp->rows[k].path; k++)
            printf(" %s", pp->rows[k].path);
        open = "; ";
    }
    if (pp->validate) {
        printf("%schecked", open);
        open = "; ";
    }
    if (pp->implies && pp->implies[0]) {
        printf("%simplies:", open);
        for (size_t k = 0; pp->implies[k]; k++)
            printf(" %s", pp->implies[k]);
        open = "; ";
    }
    printf("%s\n", open[0] == ';' ? "}" : "");
}

static void list_plugins(void)
{
    printf("os.policy:\n");
    for (size_t i = 0; os_policy_registry[i]; i++)
        list_one(12, os_policy_registry[i]->name,
                 os_policy_registry[i]->summary, os_policy_registry[i]->source,
                 &os_policy_registry[i]->params);
    printf("hv.mode:\n");
    for (size_t i = 0; hv_mode_registry[i]; i++)
        list_one(18, hv_mode_registry[i]->name, hv_mode_registry[i]->summary,
                 hv_mode_registry[i]->source, &hv_mode_registry[i]->params);
    printf("dev.model:\n");
    for (size_t i = 0; dev_model_registry[i]; i++)
        list_one(12, dev_model_registry[i]->name,
                 dev_model_registry[i]->summary, dev_model_registry[i]->source,
                 &dev_model_registry[i]->params);
    printf("vtd.<cache>.replacement:\n");
    for (size_t i = 0; cache_repl_registry[i]; i++)
        list_one(12, cache_repl_registry[i]->name,
                 cache_repl_registry[i]->summary, NULL,
                 &cache_repl_registry[i]->params);
}

typedef struct progress_state {
    bool show;    /* print the progress line            */
    double start; /* monotonic seconds at the first call */
    time_t last;
    bool printed;
    const char *trace;
} progress_state_t;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Called every few batches: keeps the interrupt's one line current and,
 * when shown, redraws the progress line once a second (percent of the
 * compressed input, records, rate, time left at that rate). */
static void show_progress(uint64_t done, uint64_t total, uint64_t records,
                          void *arg)
{
    progress_state_t *p = arg;
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    time_t now = time(NULL);
    if (done < total && now == p->last)
        return;
    p->last = now;
    char part[48] = ""; /* a FIFO has no size: no percentage */
    if (total)
        snprintf(part, sizeof part, " (%.1f%% of it)", pct);
    cli_interrupt_note("%s%s: interrupted after %llu records of %s%s; no "
                       "report or output file written",
                       p->printed ? "\n" : "", PROG,
                       (unsigned long long)records, p->trace, part);
    if (!p->show)
        return;
    double t = now_seconds();
    if (p->start == 0)
        p->start = t;
    double el = t - p->start;
    char rate[48] = "", eta[48] = "";
    if (el > 0.5 && records) {
        double r = (double)records / el;
        if (r >= 1e6)
            snprintf(rate, sizeof rate, "  %.1f M records/s", r / 1e6);
        else
            snprintf(rate, sizeof rate, "  %.0f records/s", r);
        if (done > 0 && done < total) {
            double left = el * (double)(total - done) / (double)done;
            snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)(left / 60),
                     (int)left % 60);
        }
    }
    p->printed = true;
    fprintf(stderr, "\riosim: %5.1f%%  %llu records%s%s   ", pct,
            (unsigned long long)records, rate, eta);
}

/* A validation error about a key (err->key, iosim_err_key) whose value the
 * config file gave (not one a --set replaced) becomes "file:line:col:
 * key: msg", the place of that key in the file, as the loader's own
 * errors are; one whose value a --set gave becomes "--set key: msg". */
static void point_at_config(const char *config_path, const char *const *sets,
                            size_t nsets, iosim_err_t *err)
{
    const char *key = err->key;
    size_t klen = strlen(key);
    if (klen == 0)
        return;
    for (size_t i = 0; i < nsets; i++) /* "key=..." or "key.sub=..." */
        if (!strncmp(sets[i], key, klen) &&
            (sets[i][klen] == '=' || sets[i][klen] == '.')) {
            /* the value came from the command line: say so, since no file
             * position points the user at it */
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            iosim_err_set(err, "--set %s", msg);
            return;
        }
    if (!config_path)
        return;
    size_t line, col;
    if (iosim_config_key_position(config_path, key, &line, &col))
        return;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    iosim_err_set(err, "%s:%zu:%zu: %s", config_path, line, col, msg);
}

/* One output file of a run (-o, --epoch-out, --xlate-log, --dump-accesses).  A
 * regular file is written to a temporary beside it and renamed into place only
 * when every output of the run has been written and flushed (output_commit
 * after output_flush of all), so a run that fails leaves none of them; a
 * device, FIFO or symbolic link (-o /dev/stdout) is written through
 * directly; a directory, or the input trace itself, is refused before
 * the replay (bad input). */
typedef struct output {
    const char *opt;  /* the option, for messages */
    const char *path; /* NULL = not asked for     */
    char *tmp;        /* NULL: written directly   */
    FILE *f;
} output_t;

static int output_open(output_t *o, const char *trace, iosim_err_t *err)
{
    if (outfile_not_input(o->opt, o->path, trace, err))
        return -1;
    if (outfile_open(o->path, "w", &o->tmp, &o->f, err))
        return -1;
    if (o->tmp)
        cli_temp_add(o->tmp);
    return 0;
}

/* Everything written so far reached the file (a full disk shows here). */
static int output_flush(output_t *o, iosim_err_t *err)
{
    if (o->f && (fflush(o->f) != 0 || ferror(o->f)))
        return iosim_err_set(err, "%s: cannot write: %s", o->path,
                             iosim_errno_str(errno ? errno : EIO));
    return 0;
}

/* Closes the file and renames its temporary into place. */
static int output_commit(output_t *o, iosim_err_t *err)
{
    if (!o->f)
        return 0;
    FILE *f = o->f;
    o->f = NULL;
    if (o->tmp)
        cli_temp_drop(o->tmp);
    if (fclose(f) != 0 || (o->tmp && rename(o->tmp, o->path) != 0)) {
        iosim_err_set(err, "%s: cannot write: %s", o->path,
                      iosim_errno_str(errno));
        if (o->tmp)
            unlink(o->tmp);
        return -1;
    }
    return 0;
}

/* Whatever happened: the file closed, the temporary removed. */
static void output_abort(output_t *o)
{
    if (o->tmp)
        cli_temp_drop(o->tmp);
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
        if (o->tmp)
            unlink(o->tmp);
    }
    free(o->tmp);
    o->tmp = NULL;
}

/* A side output (--epoch-out, --xlate-log, --dump-accesses): rows each sim
 * writes while it runs, to a temporary file of its own (with --threads the sims
 * run at once); the output gets the header, then the sims' rows in sim order.
 */
typedef struct side_output {
    output_t o;
    void (*header)(FILE *out);
    FILE *rows[MAX_COMPARE];
} side_output_t;

static int side_open(side_output_t *so, const char *trace, size_t nsims,
                     iosim_err_t *err)
{
    if (!so->o.path)
        return 0;
    if (output_open(&so->o, trace, err))
        return -1;
    for (size_t i = 0; i < nsims; i++)
        if (!(so->rows[i] = tmpfile()))
            return iosim_err_set(err,
                                 "%s: cannot create a temporary file: "
                                 "%s",
                                 so->o.opt, iosim_errno_str(errno));
    return 0;
}

/* The header, then every sim's rows (not yet committed). */
static int side_write(side_output_t *so, size_t nsims, iosim_err_t *err)
{
    if (!so->o.f)
        return 0;
    so->header(so->o.f);
    char buf[65536];
    for (size_t i = 0; i < nsims; i++) {
        /* a failed write of the rows (a full disk) shows here: rewind()
         * clears the error indicator */
        if (fflush(so->rows[i]) != 0 || ferror(so->rows[i]))
            return iosim_err_set(err,
                                 "%s: cannot write a temporary file: "
                                 "%s",
                                 so->o.opt, iosim_errno_str(errno));
        rewind(so->rows[i]);
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, so->rows[i])) > 0)
            if (fwrite(buf, 1, n, so->o.f) != n)
                break;
        if (ferror(so->rows[i]) || ferror(so->o.f))
            return iosim_err_set(err, "%s: cannot write: %s", so->o.path,
                                 iosim_errno_str(errno));
    }
    return output_flush(&so->o, err);
}

static void side_close(side_output_t *so, size_t nsims)
{
    output_abort(&so->o);
    for (size_t i = 0; i < nsims; i++)
        if (so->rows[i])
            fclose(so->rows[i]);
}

/* --threads N: a decimal count, 0 (one per online CPU) .. MAX_THREADS. */
static int parse_threads(const char *s, unsigned *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
        return -1;
    unsigned long v = strtoul(s, NULL, 10);
    if (v > MAX_THREADS)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* --compare items times every combination of the --sweep values
 * (iosim_plan_cli): one sim each, all fed by one decoded stream. */
static int build_sims(const iosim_config_t *cfg, const char *compare,
                      const char *const *sweeps, size_t nsw,
                      const iosim_trace_meta_t *meta, iosim_sim_t **sims,
                      size_t *nsims, iosim_err_t *err)
{
    iosim_point_t *pts;
    size_t npts;
    if (iosim_plan_cli(compare, sweeps, nsw, MAX_COMPARE, &pts, &npts, err))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < npts && !rc; i++) {
        if (!(sims[i] = iosim_point_sim_new(cfg, &pts[i], meta, err)))
            rc = -1;
        else
            (*nsims)++;
    }
    free(pts);
    return rc;
}

/* A sim allocates a few hundred KB at its start (vtd_t's context table by
 * source id, the latency histograms, cache arrays) and frees them at its
 * end; a sweep makes thousands.  glibc serves each such block with a fresh
 * mmap or returns the freed top of the heap to the kernel, so every sim
 * page-faulted its memory in again: on examples/sweep-1000.yaml's 2-record
 * traces, 1.25 CPU ms per sim, two thirds of it in the kernel (0.38 ms with
 * the memory kept).  Keeping freed memory in the process changes no
 * number; peak memory is still the largest set of sims alive at once. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* What the command line asks for (parse_args fills it). */
typedef struct run_opts {
    const char *config_path, *out_path, *trace, *compare;
    const char *sweeps[MAX_SWEEPS];
    size_t nsweeps;
    const char *sets[MAX_SETS];
    size_t nsets;
    iosim_format_t fmt;
    int progress;      /* -1 auto */
    bool strict_input; /* --strict-input */
    bool plain;        /* --plain: no shared runs */
    unsigned threads;
    uint64_t epoch_ns;
    side_output_t epochs, xlates, dumps;
} run_opts_t;

/* What a run holds until it ends (freed by run_free in every case). */
typedef struct run_state {
    iosim_config_t *cfg;
    iosim_trace_reader_t *reader;
    const iosim_trace_meta_t *meta;
    iosim_sim_t *sims[MAX_COMPARE];
    size_t nsims;
    output_t report;
    FILE *out;
    iosim_provenance_t prov;
    char replay[512]; /* how the sims ran (iosim_replay_shared) */
} run_state_t;

#define RUN_GO (-1) /* parse_args: carry on with the run */

/* --help-config [FILTER]: the parameter reference, or one line naming the
 * filter that matches nothing. */
static int help_config(const char *filter)
{
    if (iosim_config_write_reference_matching(stdout, filter) != 0)
        return 0;
    char near[128];
    if (iosim_config_suggest_key(filter, near, sizeof near))
        cli_error(PROG,
                  "--help-config %s: no parameter matches "
                  "(did you mean %s?)",
                  filter, near);
    else
        cli_error(PROG, "--help-config %s: no parameter matches", filter);
    return IOSIM_EXIT_BAD_INPUT;
}

/* Step 1: the command line into o.  Returns RUN_GO, or the exit status of
 * an option that ends the program (--help, --list, ...) or of bad input. */
static int parse_args(int argc, char **argv, run_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("iosim %s\n", IOSIM_VERSION_STRING);
            return 0;
        } else if (!strcmp(a, "--help-config")) {
            /* an optional filter: a key, a group or a part of a key */
            return help_config(has_next && argv[i + 1][0] != '-' ? argv[i + 1]
                                                                 : NULL);
        } else if (!strcmp(a, "--list")) {
            list_plugins();
            return 0;
        } else if (!strcmp(a, "--list-stats")) {
            iosim_report_list_metrics(stdout);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_next) {
            o->config_path = argv[++i];
        } else if ((!strcmp(a, "-s") || !strcmp(a, "--set")) && has_next) {
            if (o->nsets == MAX_SETS) {
                cli_error(PROG, "too many --set options (max %d)", MAX_SETS);
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (!strchr(argv[i + 1], '=')) {
                /* "--set k v": the value would be taken for the trace */
                cli_error(PROG,
                          "%s %s: --set takes KEY=VALUE as one "
                          "argument (--set %s=%s)",
                          a, argv[i + 1], argv[i + 1],
                          i + 2 < argc && argv[i + 2][0] != '-' ? argv[i + 2]
                                                                : "VALUE");
                return IOSIM_EXIT_BAD_INPUT;
            }
            o->sets[o->nsets++] = argv[++i];
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && has_next) {
            if (cli_parse_format(argv[++i], &o->fmt)) {
                cli_error(PROG,
                          "--format: unknown format '%s' (text, json, "
                          "csv)",
                          argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_next) {
            o->out_path = argv[++i];
        } else if (!strcmp(a, "--compare") && has_next) {
            o->compare = argv[++i];
        } else if (!strcmp(a, "--sweep") && has_next) {
            const char *eq = strchr(argv[++i], '=');
            if (!eq || eq == argv[i] || !eq[1] || o->nsweeps == MAX_SWEEPS) {
                cli_error(PROG,
                          "--sweep %s: expected KEY=V1,V2,... (at most "
                          "%d sweeps)",
                          argv[i], MAX_SWEEPS);
                return IOSIM_EXIT_BAD_INPUT;
            }
            o->sweeps[o->nsweeps++] = argv[i];
        } else if (!strcmp(a, "--threads") && has_next) {
            if (parse_threads(argv[++i], &o->threads)) {
                cli_error(PROG,
                          "--threads: '%s' is not a thread count (0 = "
                          "one per CPU, 1..%d)",
                          argv[i], MAX_THREADS);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if (!strcmp(a, "--epoch") && has_next) {
            if (cli_parse_duration_ns(argv[++i], &o->epoch_ns)) {
                cli_error(PROG,
                          "--epoch: '%s' is not a duration (a whole "
                          "number > 0 with a unit: ns, us, ms or s, "
                          "e.g. 10ms)",
                          argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if (!strcmp(a, "--epoch-out") && has_next) {
            o->epochs.o.path = argv[++i];
        } else if (!strcmp(a, "--xlate-log") && has_next) {
            o->xlates.o.path = argv[++i];
        } else if (!strcmp(a, "--dump-accesses") && has_next) {
            o->dumps.o.path = argv[++i];
        } else if (!strcmp(a, "--strict-input")) {
            o->strict_input = true;
        } else if (!strcmp(a, "--plain")) {
            o->plain = true;
        } else if (!strcmp(a, "--progress")) {
            o->progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            o->progress = 0;
        } else if (a[0] == '-' && a[1]) {
            cli_error(PROG, "unknown or incomplete option '%s' (try --help)",
                      a);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!o->trace) {
            o->trace = a;
        } else {
            cli_error(PROG, "more than one trace given ('%s', '%s')", o->trace,
                      a);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    return RUN_GO;
}

/* Step 1b: options that are each valid but do not go together.  0 or the
 * bad-input exit status (the message printed). */
static int check_args(const run_opts_t *o)
{
    if (!o->trace) {
        cli_error(PROG, "no trace given (usage: iosim [OPTIONS] TRACE; try "
                        "--help)");
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (!o->epoch_ns != !o->epochs.o.path) {
        cli_error(PROG, "--epoch and --epoch-out go together");
        return IOSIM_EXIT_BAD_INPUT;
    }
    const struct {
        const char *opt, *path;
    } outputs[] = {{"-o", o->out_path},
                   {"--epoch-out", o->epochs.o.path},
                   {"--xlate-log", o->xlates.o.path},
                   {"--dump-accesses", o->dumps.o.path}};
    size_t nout = sizeof outputs / sizeof outputs[0];
    for (size_t i = 0; i < nout; i++)
        for (size_t j = i + 1; j < nout; j++)
            if (outputs[i].path && outputs[j].path &&
                !strcmp(outputs[i].path, outputs[j].path)) {
                cli_error(PROG, "%s and %s name the same file '%s'",
                          outputs[i].opt, outputs[j].opt, outputs[i].path);
                return IOSIM_EXIT_BAD_INPUT;
            }
    return 0;
}

/* Step 2: the configuration (file, then --set, then validation) and the
 * trace. */
static int load(int argc, char **argv, const run_opts_t *o, run_state_t *st,
                iosim_err_t *err)
{
    if (o->config_path && iosim_config_load(st->cfg, o->config_path, err))
        return -1;
    for (size_t i = 0; i < o->nsets; i++)
        if (iosim_config_set(st->cfg, o->sets[i], err))
            return -1;
    if (iosim_config_validate(st->cfg, err)) {
        point_at_config(o->config_path, o->sets, o->nsets, err);
        return -1;
    }
    st->reader = iosim_trace_open(o->trace, err);
    if (!st->reader)
        return -1;
    st->meta = iosim_trace_meta(st->reader);
    /* with more than one thread the trace's hash runs beside the replay
     * (main() waits for it before the report) */
    if (o->threads != 1)
        return iosim_provenance_fill_ahead(&st->prov, argc, argv, o->trace,
                                           o->config_path, err);
    return iosim_provenance_fill(&st->prov, argc, argv, o->trace,
                                 o->config_path, err);
}

/* Step 3: the sims (one per --compare item or --sweep point) and the
 * outputs each writes to. */
static int plan(run_opts_t *o, run_state_t *st, iosim_err_t *err)
{
    if (build_sims(st->cfg, o->compare, o->sweeps, o->nsweeps, st->meta,
                   st->sims, &st->nsims, err)) {
        /* a sim the trace's own metadata cannot serve: name the trace */
        if (!strcmp(err->key, "meta.device") ||
            !strcmp(err->key, "meta.implies")) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            iosim_err_set(err, "%s: %s", o->trace, msg);
        }
        return -1;
    }
    if (o->out_path) {
        if (output_open(&st->report, o->trace, err))
            return -1;
        st->out = st->report.f;
    }
    if (side_open(&o->epochs, o->trace, st->nsims, err) ||
        side_open(&o->xlates, o->trace, st->nsims, err) ||
        side_open(&o->dumps, o->trace, st->nsims, err))
        return -1;
    for (size_t i = 0; i < st->nsims; i++)
        iosim_sim_set_strict_input(st->sims[i], o->strict_input);
    for (size_t i = 0; i < st->nsims; i++)
        if ((o->epochs.o.f && iosim_sim_set_epochs(st->sims[i], o->epoch_ns,
                                                   o->epochs.rows[i], err)) ||
            (o->xlates.o.f &&
             iosim_sim_set_xlate_log(st->sims[i], o->xlates.rows[i], err)) ||
            (o->dumps.o.f &&
             iosim_sim_set_access_dump(st->sims[i], o->dumps.rows[i], err)))
            return -1;
    return 0;
}

/* Step 4: the replay of the trace through every sim. */
static int run(const run_opts_t *o, run_state_t *st, iosim_err_t *err)
{
    int progress = o->progress < 0 ? isatty(STDERR_FILENO) : o->progress;
    progress_state_t ps = {.show = progress != 0, .trace = o->trace};
    cli_interrupt_note("%s: interrupted at the start of the replay of %s; "
                       "no report or output file written",
                       PROG, o->trace);
    int rc =
        o->plain
            ? iosim_replay_reader_threads(st->reader, st->sims, st->nsims,
                                          o->threads, show_progress, &ps, err)
            : iosim_replay_shared(st->reader, o->trace, st->sims, st->nsims,
                                  o->threads, show_progress, &ps, st->replay,
                                  sizeof st->replay, err);
    st->prov.replay = st->replay;
    if (ps.printed)
        fputc('\n', stderr);
    return rc;
}

/* Step 5: the report and the side outputs.  Every output is written and
 * flushed before any is renamed into place: a run that cannot write one
 * of them leaves none.  0, -1 with err set (an output cannot be written),
 * or CLI_EXIT_OOM: the program's own allocation failed (message
 * printed). */
static int report(run_opts_t *o, run_state_t *st, iosim_err_t *err)
{
    cli_interrupt_note("%s: interrupted while writing the report of %s; no "
                       "output file written",
                       PROG, o->trace);
    /* The echo shows the configuration as it ran: the settings the trace
     * implies where the configuration gives none, os.kernel auto and the
     * settings that say "kernel" resolved against this trace, as each sim
     * resolved its own (iosim_sim_new); a sim differs from it only in what
     * its --compare item or --sweep set. */
    iosim_config_t *shown = iosim_config_clone(st->cfg);
    if (!shown) {
        /* the program's own allocation: no output file */
        cli_error(PROG, "out of memory");
        return CLI_EXIT_OOM;
    }
    iosim_err_t kerr = {0};
    if (iosim_config_apply_trace(shown, st->meta, &kerr) ||
        os_kernel_resolve(shown, st->meta, &kerr)) {
        iosim_config_free(shown);
        shown = NULL;
    }
    iosim_report_write_prov(st->out, o->fmt, &st->prov, shown ? shown : st->cfg,
                            st->meta, st->sims, st->nsims);
    iosim_config_free(shown);
    if (!o->out_path && fflush(stdout) != 0) {
        iosim_err_set(err, "stdout: cannot write: %s", iosim_errno_str(errno));
        return -1;
    }
    if (output_flush(&st->report, err) ||
        side_write(&o->epochs, st->nsims, err) ||
        side_write(&o->xlates, st->nsims, err) ||
        side_write(&o->dumps, st->nsims, err))
        return -1;
    if (output_commit(&st->report, err) || output_commit(&o->epochs.o, err) ||
        output_commit(&o->xlates.o, err) || output_commit(&o->dumps.o, err))
        return -1;
    return 0;
}

/* Whatever the run holds, whether it finished or not (an output not
 * committed is removed). */
static void run_free(run_opts_t *o, run_state_t *st)
{
    output_abort(&st->report);
    iosim_provenance_free(&st->prov);
    side_close(&o->epochs, st->nsims);
    side_close(&o->xlates, st->nsims);
    side_close(&o->dumps, st->nsims);
    for (size_t i = 0; i < st->nsims; i++)
        iosim_sim_free(st->sims[i]);
    if (st->reader)
        iosim_trace_close(st->reader);
    iosim_config_free(st->cfg);
}

int main(int argc, char **argv)
{
    keep_freed_memory();
    /* past a file-size limit a write then fails (EFBIG) and the run
     * cleans up, instead of being killed with its temporaries left */
    signal(SIGXFSZ, SIG_IGN);
    /* a command that succeeded has written all it printed on stdout
     * (--help texts), or it exits 2 */
    if (argc > 1 && !strcmp(argv[1], "sweep")) {
        int src = sweep_main(argc - 1, argv + 1);
        return src ? src : cli_flush_stdout("iosim sweep");
    }
    if (argc > 1 && !strcmp(argv[1], "iotlb-sweep")) {
        int src = iotlb_sweep_main(argc - 1, argv + 1);
        return src ? src : cli_flush_stdout("iosim iotlb-sweep");
    }

    run_opts_t o = {
        .fmt = IOSIM_FMT_TEXT,
        .progress = -1,
        .threads = 1,
        .epochs = {.o = {.opt = "--epoch-out"},
                   .header = iosim_epoch_csv_header},
        .xlates = {.o = {.opt = "--xlate-log"},
                   .header = iosim_xlate_log_csv_header},
        .dumps = {.o = {.opt = "--dump-accesses"},
                  .header = iosim_access_dump_csv_header},
    };
    int rc = parse_args(argc, argv, &o);
    if (rc == 0) /* --help, --list, ...: written whole, or exit 2 */
        return cli_flush_stdout(PROG);
    if (rc != RUN_GO)
        return rc;
    if (check_args(&o))
        return IOSIM_EXIT_BAD_INPUT;

    run_state_t st = {.report = {.opt = "-o", .path = o.out_path},
                      .out = stdout};
    st.cfg = iosim_config_new();
    if (!st.cfg) {
        cli_error(PROG, "out of memory");
        return CLI_EXIT_OOM;
    }
    /* any failure, reading the input or writing an output, is bad input
     * or the caller's to fix (full disk, closed pipe): exit 2, as
     * iosim-trace does */
    iosim_err_t err = {0};
    rc = -1;
    if (!load(argc, argv, &o, &st, &err) && !plan(&o, &st, &err) &&
        !run(&o, &st, &err) && !iosim_provenance_finish(&st.prov, &err))
        rc = report(&o, &st, &err);
    if (rc < 0) {
        cli_error(PROG, "%s", err.msg);
        rc = IOSIM_EXIT_BAD_INPUT;
    }
    run_free(&o, &st);
    return rc;
}
