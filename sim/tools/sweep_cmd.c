/* sweep_cmd.c — `iosim sweep EXPERIMENT.yaml`: runs a sweep file's
 * missing shards on local cores and writes its results table, or one
 * shard (a Slurm array task), or only the merge, or the Slurm scripts.
 * Bad input: one line, exit 2, no partial table. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/outfile.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/sweep_cmd.h"

#define PROG "iosim sweep"

static void sweep_usage(FILE *out)
{
    fprintf(
        out,
        "usage: iosim sweep EXPERIMENT.yaml [OPTIONS]\n"
        "Runs every configuration of a sweep file over its traces and\n"
        "writes one results table (README \"Sweeps\").\n\n"
        "options:\n"
        "  -o, --output FILE   the table (default stdout); written whole or\n"
        "                      not at all\n"
        "  -f, --format FMT    csv (default; json if FILE ends in .jsonl or\n"
        "                      .json) or json (JSON lines)\n"
        "  -j, --jobs N        shards run at once on local cores (default 1;\n"
        "                      0 = one per CPU); the table is the same\n"
        "      --shards DIR    where the shards go (default: the sweep\n"
        "                      file's name with .shards for .yaml)\n"
        "      --shard I       run shard I only (0-based; a Slurm array\n"
        "                      task), no table\n"
        "      --merge         only write the table from the shards (every\n"
        "                      shard must be done)\n"
        "      --status        print the plan: traces, configurations,\n"
        "                      shards done and missing\n"
        "      --slurm DIR     write DIR/array.sbatch (one array task per\n"
        "                      shard) and DIR/merge.sbatch\n"
        "      --submit        with --slurm: submit both through sbatch,\n"
        "                      the merge after the array (afterok)\n"
        "      --progress, --no-progress  shards done on stderr (default:\n"
        "                      when stderr is a terminal)\n\n"
        "A shard is written atomically when it ends: a sweep killed at\n"
        "any point and started again runs only the missing "
        "shards.\n" CLI_EXIT_STATUS_HELP);
}

static void show(size_t done, size_t total, void *arg)
{
    (void)arg;
    fprintf(stderr, "\riosim sweep: %zu/%zu shards", done, total);
    if (done == total)
        fputc('\n', stderr);
}

/* Temporaries of shards a killed run left (a local run is the only
 * writer of its shard directory). */
static void remove_stale_temps(const char *dir)
{
    char pat[4096];
    snprintf(pat, sizeof pat, "%s/shard-*.tsv.tmp.*", dir);
    glob_t g;
    if (glob(pat, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        unlink(g.gl_pathv[i]);
    globfree(&g);
}

/* A word for a POSIX shell script, single-quoted when it needs it. */
static void sh_word(FILE *f, const char *w)
{
    if (w[0] && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                          "WXYZ0123456789_-./=:@,+%") == strlen(w)) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (; *w; w++) {
        if (*w == '\'')
            fputs("'\\''", f);
        else
            fputc(*w, f);
    }
    fputc('\'', f);
}

/* The path of this program, for the job scripts (they run on other
 * nodes with the same file systems). */
static void self_path(const char *argv0, char *buf, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len > 0) {
        buf[len] = '\0';
        return;
    }
    snprintf(buf, n, "%s", argv0);
}

typedef struct sweep_opts {
    const char *file, *out, *dir, *slurm;
    iosim_format_t fmt;
    bool fmt_given, merge, status, submit;
    long shard;
    unsigned jobs;
    int progress;
} sweep_opts_t;

static int write_script(const char *path, const char *body_fmt,
                        const sweep_opts_t *o, const char *exe, const char *cwd,
                        size_t shards, bool array, iosim_err_t *err)
{
    char *tmp;
    FILE *f;
    (void)body_fmt;
    if (outfile_open(path, "w", &tmp, &f, err))
        return -1;
    fprintf(f, "#!/bin/sh\n");
    if (array)
        fprintf(f,
                "#SBATCH --job-name=iosim-sweep\n#SBATCH --array=0-%zu\n"
                "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n",
                shards - 1);
    else
        fprintf(f, "#SBATCH --job-name=iosim-merge\n#SBATCH --ntasks=1\n");
    fprintf(f, "#SBATCH --output=%s%s%s/%s\n", o->slurm[0] == '/' ? "" : cwd,
            o->slurm[0] == '/' ? "" : "/", o->slurm,
            array ? "shard-%A_%a.log" : "merge-%j.log");
    fprintf(f, "# written by iosim sweep --slurm; resubmitting runs only "
               "the missing shards\nset -e\ncd ");
    sh_word(f, cwd);
    fprintf(f, "\nexec ");
    sh_word(f, exe);
    fprintf(f, " sweep ");
    sh_word(f, o->file);
    if (o->dir) {
        fprintf(f, " --shards ");
        sh_word(f, o->dir);
    }
    if (array) {
        fprintf(f, " --shard \"$SLURM_ARRAY_TASK_ID\"\n");
    } else {
        fprintf(f, " --merge --format %s",
                o->fmt == IOSIM_FMT_JSON ? "json" : "csv");
        if (o->out) {
            fprintf(f, " -o ");
            sh_word(f, o->out);
        }
        fputc('\n', f);
    }
    return outfile_close(path, f, tmp, true, err);
}

/* Runs sbatch with args; the job id it prints (--parsable) into id. */
static int sbatch(char *const args[], const char *script, char *id, size_t n,
                  iosim_err_t *err)
{
    int fd[2];
    if (pipe(fd) != 0)
        return iosim_err_set(err, "sbatch: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return iosim_err_set(err, "sbatch: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execvp("sbatch", args);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fd[0], id + got, n - 1 - got)) > 0)
        got += (size_t)r;
    id[got] = '\0';
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    id[strcspn(id, ";\n")] = '\0';
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !id[0])
        return iosim_err_set(err, "sbatch %s: failed (%s)", script,
                             WIFEXITED(st) && WEXITSTATUS(st) == 127
                                 ? "not found"
                                 : "see its message above");
    return 0;
}

static int slurm(const sweep_opts_t *o, iosim_sweep_t *s, const char *argv0,
                 iosim_err_t *err)
{
    char exe[4096], cwd[4096], arr[4200], mrg[4200];
    self_path(argv0, exe, sizeof exe);
    if (!getcwd(cwd, sizeof cwd))
        return iosim_err_set(err, "getcwd: %s", strerror(errno));
    if (mkdir(o->slurm, 0777) != 0 && errno != EEXIST)
        return iosim_err_set(err, "--slurm %s: cannot create: %s", o->slurm,
                             strerror(errno));
    snprintf(arr, sizeof arr, "%s/array.sbatch", o->slurm);
    snprintf(mrg, sizeof mrg, "%s/merge.sbatch", o->slurm);
    size_t shards = iosim_sweep_shard_count(s);
    if (write_script(arr, NULL, o, exe, cwd, shards, true, err) ||
        write_script(mrg, NULL, o, exe, cwd, shards, false, err))
        return -1;
    printf("%s: %zu array tasks (one per shard)\n%s: the merge\n", arr, shards,
           mrg);
    if (!o->submit)
        return 0;
    char id[64], dep[96], id2[64];
    char *a1[] = {"sbatch", "--parsable", arr, NULL};
    if (sbatch(a1, arr, id, sizeof id, err))
        return -1;
    snprintf(dep, sizeof dep, "--dependency=afterok:%s", id);
    char *a2[] = {"sbatch", "--parsable", dep, mrg, NULL};
    if (sbatch(a2, mrg, id2, sizeof id2, err))
        return -1;
    printf("submitted: array job %s, merge job %s\n", id, id2);
    return 0;
}

int sweep_main(int argc, char **argv)
{
    sweep_opts_t o = {
        .fmt = IOSIM_FMT_CSV, .shard = -1, .jobs = 1, .progress = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            sweep_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_next) {
            o.out = argv[++i];
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && has_next) {
            if (cli_parse_format(argv[++i], &o.fmt) ||
                o.fmt == IOSIM_FMT_TEXT) {
                cli_error(PROG, "--format: '%s' is not csv or json", argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
            o.fmt_given = true;
        } else if ((!strcmp(a, "-j") || !strcmp(a, "--jobs")) && has_next) {
            uint64_t v;
            if (cli_parse_u64(argv[++i], &v) || v > 1024) {
                cli_error(PROG, "--jobs: '%s' is not 0..1024", argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
            o.jobs = (unsigned)v;
        } else if (!strcmp(a, "--shards") && has_next) {
            o.dir = argv[++i];
        } else if (!strcmp(a, "--shard") && has_next) {
            uint64_t v;
            if (cli_parse_u64(argv[++i], &v) || v > 100000000) {
                cli_error(PROG, "--shard: '%s' is not a shard number", argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
            o.shard = (long)v;
        } else if (!strcmp(a, "--merge")) {
            o.merge = true;
        } else if (!strcmp(a, "--status")) {
            o.status = true;
        } else if (!strcmp(a, "--slurm") && has_next) {
            o.slurm = argv[++i];
        } else if (!strcmp(a, "--submit")) {
            o.submit = true;
        } else if (!strcmp(a, "--progress")) {
            o.progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            o.progress = 0;
        } else if (a[0] == '-' && a[1]) {
            cli_error(PROG,
                      "unknown or incomplete option '%s' (try iosim "
                      "sweep --help)",
                      a);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!o.file) {
            o.file = a;
        } else {
            cli_error(PROG, "more than one sweep file given ('%s', '%s')",
                      o.file, a);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    if (!o.file) {
        cli_error(PROG, "no sweep file given (iosim sweep EXPERIMENT.yaml; "
                        "--help)");
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (o.submit && !o.slurm) {
        cli_error(PROG, "--submit goes with --slurm DIR");
        return IOSIM_EXIT_BAD_INPUT;
    }
    if ((o.shard >= 0) + o.merge + o.status + (o.slurm != NULL) > 1) {
        cli_error(PROG, "--shard, --merge, --status and --slurm are "
                        "separate steps: give one");
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (o.out && !o.fmt_given) {
        size_t n = strlen(o.out);
        if ((n > 6 && !strcmp(o.out + n - 6, ".jsonl")) ||
            (n > 5 && !strcmp(o.out + n - 5, ".json")))
            o.fmt = IOSIM_FMT_JSON;
    }

    /* what every row records as its command: the sweep file is what
     * determines the results (--jobs, --shards, -o change none) */
    size_t clen = strlen(o.file) + 16;
    char *command = malloc(clen);
    if (!command) {
        cli_error(PROG, "out of memory");
        return CLI_EXIT_OOM;
    }
    snprintf(command, clen, "iosim sweep %s", o.file);
    iosim_err_t err = {0};
    int rc = IOSIM_EXIT_BAD_INPUT;
    char *tmp = NULL;
    FILE *out = NULL;
    iosim_sweep_t *s = iosim_sweep_load(o.file, command, &err);
    free(command);
    if (!s)
        goto fail;
    if (o.dir ? iosim_sweep_set_dir(s, o.dir, &err)
              : iosim_sweep_set_dir(s, iosim_sweep_dir(s), &err))
        goto fail;
    if (o.status) {
        size_t total = iosim_sweep_shard_count(s), done = 0;
        for (size_t i = 0; i < total; i++)
            done += iosim_sweep_shard_done(s, i);
        printf("%s: %zu traces x %zu configurations = %zu runs in %zu "
               "shards (%s): %zu done, %zu missing\n",
               o.file, iosim_sweep_trace_count(s), iosim_sweep_point_count(s),
               iosim_sweep_trace_count(s) * iosim_sweep_point_count(s), total,
               iosim_sweep_dir(s), done, total - done);
        rc = 0;
        goto done;
    }
    if (o.slurm) {
        if (slurm(&o, s, argv[0], &err))
            goto fail;
        rc = 0;
        goto done;
    }
    if (o.shard >= 0) {
        if (iosim_sweep_run_shard(s, (size_t)o.shard, 1, &err))
            goto fail;
        rc = 0;
        goto done;
    }
    if (o.out && (outfile_not_input("-o", o.out, o.file, &err) ||
                  outfile_open(o.out, "w", &tmp, &out, &err)))
        goto fail;
    if (tmp)
        cli_temp_add(tmp);
    if (!o.merge) {
        remove_stale_temps(iosim_sweep_dir(s));
        if (o.progress < 0)
            o.progress = isatty(STDERR_FILENO);
        if (iosim_sweep_run(s, o.jobs, o.progress ? show : NULL, NULL, &err))
            goto fail;
    }
    if (iosim_sweep_merge(s, out ? out : stdout, o.fmt, &err))
        goto fail;
    if (!out && (fflush(stdout) != 0 || ferror(stdout))) {
        iosim_err_set(&err, "stdout: cannot write: %s",
                      strerror(errno ? errno : EIO));
        goto fail;
    }
    if (out) {
        if (tmp)
            cli_temp_drop(tmp);
        FILE *f = out;
        char *t = tmp;
        out = NULL;
        tmp = NULL;
        if (outfile_close(o.out, f, t, true, &err))
            goto fail;
    }
    rc = 0;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
    rc = IOSIM_EXIT_BAD_INPUT;
done:
    if (out)
        fclose(out);
    if (tmp) {
        cli_temp_drop(tmp);
        unlink(tmp);
        free(tmp);
    }
    iosim_sweep_free(s);
    return rc;
}
