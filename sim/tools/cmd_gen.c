/* cmd_gen.c — `iosim-trace gen KIND [options] -o OUT.zst [--text]`.
 *
 * Concepts: the kinds are the library's registry gen_kinds[]
 *   (sim/trace/gen.h); each kind's --help is printed from its parameter
 *   table (option, value, help, default, and where the default comes
 *   from).  This command takes -o and --text out of argv, hands the rest
 *   to the kind (gen_kind_run) and prints its one-line error: a usage
 *   error (an option, or the kind's checks across options) as every
 *   command's, "iosim-trace gen KIND: what"; a run-time one (the output,
 *   memory) as "iosim-trace: what".  The output appears only if
 *   generation succeeds (the writer renames its temp file on commit).
 * Assumptions: none.
 * Not modeled: nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/param_args.h"
#include "tools/trace_cmds.h"
#include "trace/gen.h"

#define PROG "iosim-trace"

static void usage(FILE *out)
{
    fprintf(out, "usage: iosim-trace gen KIND [options] -o OUT.zst [--text]\n"
                 "       iosim-trace gen KIND --help   (options of KIND)\n"
                 "kinds:\n");
    for (const gen_kind_t *const *k = gen_kinds; *k; k++)
        fprintf(out, "  %-8s %s\n", (*k)->name, (*k)->summary);
    fputs(CLI_EXIT_STATUS_HELP, out);
}

/* "  --name VALUE" in a 21-column field, then the help (its continuation
 * lines indented to that column), then the default. */
static void option_usage(FILE *out, const gen_param_t *o)
{
    char head[64];
    int n = snprintf(head, sizeof head, "  %s%s%s", o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
    if (n < 20)
        fprintf(out, "%-21s", head);
    else /* a long one: two spaces, as the other columns have */
        fprintf(out, "%s  ", head);
    for (const char *h = o->help; *h; h++) {
        fputc(*h, out);
        if (*h == '\n')
            fprintf(out, "%21s", "");
    }
    if (o->def)
        fprintf(out, " (default %s)", o->def);
    fputc('\n', out);
}

static void kind_usage(FILE *out, const gen_kind_t *k)
{
    fprintf(out,
            "usage: iosim-trace gen %s [options] -o OUT.zst [--text]\n"
            "  %s\noptions:\n",
            k->name, k->summary);
    for (const gen_param_t *o = k->params; o->name; o++)
        if (o->help) /* an alias has none */
            option_usage(out, o);
    fputs("  -o, --output PATH  output trace (required)\n"
          "  --text             write the text form instead of zstd\n",
          out);
    if (k->notes)
        fputs(k->notes, out);
    fputs("where the defaults come from (the others are illustrative):\n", out);
    for (const gen_param_t *o = k->params; o->name; o++)
        if (o->def && o->source)
            fprintf(out, "  %s %s: %s\n", o->name, o->def, o->source);
    gen_implies_usage(out, k->implies, k->implies_none);
    fputs(CLI_EXIT_STATUS_HELP, out);
}

static void kind_usage_to(FILE *out, const void *k) { kind_usage(out, k); }

int cmd_gen(int argc, char **argv)
{
    int opening =
        cli_first_word(argc, argv, usage, PROG " gen", "no kind given");
    if (opening >= 0)
        return opening;
    const gen_kind_t *kind = gen_kind_find(argv[1]);
    if (!kind) {
        cli_error(PROG " gen", "unknown kind '%s' (try gen --help)", argv[1]);
        return IOSIM_EXIT_BAD_INPUT;
    }
    /* argv for the kind: its name, then everything but -o PATH / --text */
    char **kargv = calloc((size_t)argc, sizeof *kargv);
    if (!kargv) {
        cli_error(PROG, "out of memory");
        return CLI_EXIT_OOM;
    }
    char who[64]; /* usage errors: "iosim-trace gen KIND: what" */
    snprintf(who, sizeof who, PROG " %s", gen_kind_who(kind));
    int kargc = 0;
    kargv[kargc++] = argv[1];
    const char *out = NULL;
    bool text = false;
    int status = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            kind_usage(stdout, kind);
            goto done;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (i + 1 >= argc) {
                cli_error(who, "%s needs a path", a);
                status = IOSIM_EXIT_BAD_INPUT;
                goto done;
            }
            out = argv[++i];
        } else if (!strncmp(a, "--output=", 9)) {
            out = a + 9;
        } else if (!strcmp(a, "--text")) {
            text = true;
        } else {
            kargv[kargc++] = argv[i];
        }
    }
    if (!out || !*out) {
        status =
            cli_usage_error(who, "missing -o OUT.zst", kind_usage_to, kind);
        goto done;
    }
    iosim_err_t err;
    cli_temp_add_trace(out); /* killed: no temporary left */
    int rc = gen_kind_run(kind, kargc, kargv, out, text, &err);
    if (rc == -2) { /* err.msg is "gen KIND: what" (gen_kind_who) */
        const char *kw = who + sizeof PROG, *what = err.msg; /* "gen KIND" */
        size_t n = strlen(kw);
        if (!strncmp(what, kw, n) && !strncmp(what + n, ": ", 2))
            what += n + 2;
        cli_error(who, "%s", what);
    } else if (rc < 0) {
        cli_error(PROG, "%s", err.msg);
    }
    if (rc < 0)
        status = IOSIM_EXIT_BAD_INPUT;
done:
    free(kargv);
    return status;
}
