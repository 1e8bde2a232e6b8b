/* iosim_main.c — the iosim program: replay a trace through the model.
 *
 *   iosim --config configs/vtd.yaml [--set k=v ...] [--format text|json|csv]
 *         [--compare strict,lazy,...] [-o OUT] TRACE
 *
 * Only this file (and the other program) may exit.  Bad input of any kind
 * prints one line and exits 2; no partial output file is left behind. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv.h"
#include "iosim.h"
#include "os/os.h"
#include "tools/cli_util.h"

#define PROG "iosim"
#define MAX_SETS 256
#define MAX_COMPARE 32

static void usage(FILE *out)
{
    fprintf(out,
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
        "                        hypervisor mode too: strict@emulated\n"
        "      --progress        progress line on stderr (default: when "
        "stderr\n"
        "                        is a terminal)\n"
        "      --no-progress     never print progress\n"
        "      --help-config     list every parameter with its default, "
        "range\n"
        "                        and source\n"
        "      --list            list policies and hypervisor modes\n"
        "      --version         print the version\n"
        "  -h, --help            this text\n\n"
        "exit status: 0 ok, 1 internal failure, 2 bad input\n");
}

static void list_plugins(void)
{
    printf("os.policy:\n");
    for (size_t i = 0; os_policy_registry[i]; i++)
        printf("  %-12s %s [%s]\n", os_policy_registry[i]->name,
               os_policy_registry[i]->summary, os_policy_registry[i]->source);
    printf("hv.mode:\n");
    for (size_t i = 0; hv_mode_registry[i]; i++)
        printf("  %-18s %s [%s]\n", hv_mode_registry[i]->name,
               hv_mode_registry[i]->summary, hv_mode_registry[i]->source);
}

typedef struct progress_state {
    time_t last;
    bool printed;
} progress_state_t;

static void show_progress(uint64_t done, uint64_t total, uint64_t records,
                          void *arg)
{
    progress_state_t *p = arg;
    time_t now = time(NULL);
    if (done < total && now == p->last)
        return;
    p->last = now;
    p->printed = true;
    fprintf(stderr, "\riosim: %5.1f%%  %llu records",
            total ? 100.0 * (double)done / (double)total : 100.0,
            (unsigned long long)records);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *out_path = NULL, *trace = NULL;
    const char *compare = NULL;
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    iosim_format_t fmt = IOSIM_FMT_TEXT;
    int progress = -1; /* -1 auto */

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
            iosim_config_write_reference(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            list_plugins();
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_next) {
            config_path = argv[++i];
        } else if ((!strcmp(a, "-s") || !strcmp(a, "--set")) && has_next) {
            if (nsets == MAX_SETS) {
                cli_error(PROG, "too many --set options (max %d)", MAX_SETS);
                return IOSIM_EXIT_BAD_INPUT;
            }
            sets[nsets++] = argv[++i];
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && has_next) {
            if (cli_parse_format(argv[++i], &fmt)) {
                cli_error(PROG, "--format: unknown format '%s' (text, json, "
                                "csv)", argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_next) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--compare") && has_next) {
            compare = argv[++i];
        } else if (!strcmp(a, "--progress")) {
            progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            progress = 0;
        } else if (a[0] == '-' && a[1]) {
            cli_error(PROG, "unknown or incomplete option '%s' (try --help)",
                      a);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!trace) {
            trace = a;
        } else {
            cli_error(PROG, "more than one trace given ('%s', '%s')", trace,
                      a);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    if (!trace) {
        usage(stderr);
        return IOSIM_EXIT_BAD_INPUT;
    }

    iosim_err_t err = {{0}};
    int rc = IOSIM_EXIT_BAD_INPUT;
    iosim_config_t *cfg = iosim_config_new();
    iosim_trace_reader_t *reader = NULL;
    iosim_sim_t *sims[MAX_COMPARE] = {0};
    size_t nsims = 0;
    char *tmp_path = NULL;
    FILE *out = stdout;
    if (!cfg) {
        cli_error(PROG, "out of memory");
        return 1;
    }
    if (config_path && iosim_config_load(cfg, config_path, &err))
        goto fail;
    for (size_t i = 0; i < nsets; i++)
        if (iosim_config_set(cfg, sets[i], &err))
            goto fail;
    if (iosim_config_validate(cfg, &err))
        goto fail;

    reader = iosim_trace_open(trace, &err);
    if (!reader)
        goto fail;
    const iosim_trace_meta_t *meta = iosim_trace_meta(reader);

    if (compare) {
        char list[1024];
        snprintf(list, sizeof list, "%s", compare);
        for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
            if (nsims == MAX_COMPARE) {
                cli_error(PROG, "--compare: at most %d items", MAX_COMPARE);
                goto fail_quiet;
            }
            iosim_config_t *c = iosim_config_clone(cfg);
            char set[256], *at = strchr(item, '@');
            if (at)
                *at = '\0';
            snprintf(set, sizeof set, "os.policy=%s", item);
            int bad = iosim_config_set(c, set, &err);
            if (!bad && at) {
                snprintf(set, sizeof set, "hv.mode=%s", at + 1);
                bad = iosim_config_set(c, set, &err);
            }
            if (!bad)
                bad = iosim_config_validate(c, &err);
            char label[128];
            snprintf(label, sizeof label, "%s%s%s", item, at ? "@" : "",
                     at ? at + 1 : "");
            if (!bad)
                sims[nsims] = iosim_sim_new(c, label, meta, &err);
            iosim_config_free(c);
            if (bad || !sims[nsims]) {
                char msg[sizeof err.msg];
                snprintf(msg, sizeof msg, "%s", err.msg);
                iosim_err_set(&err, "--compare %s: %s", label, msg);
                goto fail;
            }
            nsims++;
        }
    } else {
        sims[0] = iosim_sim_new(cfg, cfg->os.policy, meta, &err);
        if (!sims[0])
            goto fail;
        nsims = 1;
    }

    if (progress < 0)
        progress = isatty(STDERR_FILENO);
    progress_state_t ps = {0};
    if (iosim_replay_reader(reader, sims, nsims,
                            progress ? show_progress : NULL, &ps, &err)) {
        if (ps.printed)
            fputc('\n', stderr);
        goto fail;
    }
    if (ps.printed)
        fputc('\n', stderr);

    if (out_path) {
        size_t n = strlen(out_path) + 32;
        tmp_path = malloc(n);
        if (!tmp_path) {
            cli_error(PROG, "out of memory");
            rc = 1;
            goto done;
        }
        snprintf(tmp_path, n, "%s.tmp.%ld", out_path, (long)getpid());
        out = fopen(tmp_path, "w");
        if (!out) {
            iosim_err_set(&err, "%s: cannot create: %s", out_path,
                          strerror(errno));
            out = stdout;
            goto fail;
        }
    }
    iosim_report_write(out, fmt, cfg, meta, sims, nsims);
    if (out != stdout) {
        if (fclose(out) != 0 || rename(tmp_path, out_path) != 0) {
            iosim_err_set(&err, "%s: cannot write: %s", out_path,
                          strerror(errno));
            unlink(tmp_path);
            out = stdout;
            rc = 1;
            cli_error(PROG, "%s", err.msg);
            goto done;
        }
        out = stdout;
    } else if (fflush(stdout) != 0) {
        rc = 1;
        goto done;
    }
    rc = 0;
    goto done;

fail:
    cli_error(PROG, "%s", err.msg);
fail_quiet:
    rc = IOSIM_EXIT_BAD_INPUT;
done:
    for (size_t i = 0; i < nsims; i++)
        iosim_sim_free(sims[i]);
    if (reader)
        iosim_trace_close(reader);
    iosim_config_free(cfg);
    free(tmp_path);
    return rc;
}
