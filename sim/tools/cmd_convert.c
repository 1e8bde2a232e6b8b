/* cmd_convert.c — `iosim-trace to-text`, `from-text` and `convert`.
 *
 * Concepts:
 *   - Every direction is one streaming loop (copy_records, which retime
 *     shares): read a batch of records with iosim_trace_read(), write it
 *     with iosim_trace_write().  The
 *     input form and version are detected by the reader, so every command
 *     accepts any form; only the output differs: text, or binary in the
 *     current format (v2), or with `convert --format v1` the old one (for
 *     tools that only read v1, and for tests comparing the two).
 *   - The output goes through the trace writer (temporary name, renamed
 *     at the end), so a bad input never leaves a partial output file.
 *     to-text without -o writes to stdout, where a failure can only be
 *     reported, not undone.
 *   - --from N starts at record N through the v2 block index (the reader
 *     seeks: only the block holding it is decoded), --count M stops after
 *     M records: a cut of a long trace, or a look at one place of it.
 *     --threads N decodes v2 blocks on N threads ahead of the writer.
 * Assumptions: none beyond the trace module's.
 * Not modeled: nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"
#include "trace/trace_internal.h"

#define CONVERT_BATCH 4096 /* records per read/write call */

static const char prog[] = "iosim-trace";

enum out_form { OUT_TEXT, OUT_BINARY, OUT_CONVERT };

static int convert_usage(const char *cmd, enum out_form form, FILE *f)
{
    if (form == OUT_BINARY)
        fprintf(f,
                "usage: %s %s IN -o OUT.zst\n"
                "  Converts a trace (text or binary) to the binary form "
                "(format v2).\n",
                prog, cmd);
    else if (form == OUT_CONVERT)
        fprintf(f,
                "usage: %s %s IN -o OUT.zst [--format v1|v2]\n"
                "  Rewrites a trace (binary v1 or v2, or text) in the "
                "binary form of\n"
                "  format v2 (the default: blocks of delta-coded columns "
                "with an index\n"
                "  and a checksum per block, traces/FORMAT.md §8) or of "
                "format v1.\n"
                "  The records and metadata are unchanged.\n",
                prog, cmd);
    else
        fprintf(f,
                "usage: %s %s IN [-o OUT]\n"
                "  Writes a trace (binary or text) in the text form, to "
                "OUT or stdout.\n",
                prog, cmd);
    fprintf(f, "  --from N     start at record N (from 0; format v2: seeks "
               "through the block index)\n"
               "  --count M    stop after M records\n"
               "  --threads N  decode format v2 blocks on N threads (default "
               "0: this one)\n" CLI_EXIT_STATUS_HELP);
    return f == stdout ? 0 : IOSIM_EXIT_BAD_INPUT;
}

/* convert_usage in cli_usage_error's shape */
struct usage_of {
    const char *cmd;
    enum out_form form;
};
static void usage_to(FILE *out, const void *arg)
{
    const struct usage_of *u = arg;
    convert_usage(u->cmd, u->form, out);
}

static int convert(int argc, char **argv, enum out_form form)
{
    const char *in = NULL, *out = NULL;
    bool text_out = form == OUT_TEXT;
    char who[64]; /* usage errors: "iosim-trace to-text: what" */
    snprintf(who, sizeof who, "%s %s", prog, argv[0]);
    unsigned version = 2;
    uint64_t from = 0, count = UINT64_MAX, threads = 0;
    bool seek = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return convert_usage(argv[0], form, stdout);
        if (form == OUT_CONVERT && !strcmp(argv[i], "--format")) {
            if (++i >= argc) {
                cli_error(who, "--format needs v1 or v2");
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (!strcmp(argv[i], "v1")) {
                version = 1;
            } else if (!strcmp(argv[i], "v2")) {
                version = 2;
            } else {
                cli_error(who, "--format '%s': v1 or v2", argv[i]);
                return IOSIM_EXIT_BAD_INPUT;
            }
        } else if (!strcmp(argv[i], "--from") || !strcmp(argv[i], "--count") ||
                   !strcmp(argv[i], "--threads")) {
            const char *opt = argv[i];
            uint64_t v;
            if (++i >= argc || cli_parse_u64(argv[i], &v) ||
                (opt[2] == 't' && v > 16)) {
                cli_error(who, "%s needs a number%s", opt,
                          opt[2] == 't' ? " from 0 to 16" : "");
                return IOSIM_EXIT_BAD_INPUT;
            }
            if (opt[2] == 'f') {
                from = v;
                seek = true;
            } else if (opt[2] == 'c') {
                count = v;
            } else {
                threads = v;
            }
        } else if (!strcmp(argv[i], "-o")) {
            if (++i >= argc) {
                cli_error(who, "-o needs a file name");
                return IOSIM_EXIT_BAD_INPUT;
            }
            out = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(who, "unknown option '%s'", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!in) {
            in = argv[i];
        } else {
            cli_error(who, "more than one input ('%s')", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    if (!in || (!text_out && !out)) {
        struct usage_of u = {argv[0], form};
        return cli_usage_error(
            who, in ? "missing -o OUT.zst" : "no input given", usage_to, &u);
    }

    iosim_err_t err;
    if (outfile_not_input("-o", out, in, &err)) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_trace_reader_t *r = iosim_trace_open(in, &err);
    if (!r) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_trace_set_decode_threads(r, (unsigned)threads);
    if (seek && iosim_trace_seek(r, from, &err)) {
        iosim_trace_close(r);
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    const iosim_trace_meta_t *meta = iosim_trace_meta(r);
    if (out)
        cli_temp_add_trace(out); /* killed: no temporary left */
    iosim_trace_writer_t *w =
        !out       ? trace_writer_on_stream(stdout, "<stdout>", meta, &err)
        : text_out ? iosim_trace_create(out, meta, true, &err)
                   : trace_create_version(out, meta, version, &err);
    if (!w) {
        cli_error(prog, "%s", err.msg); /* e.g. -o in a missing folder */
        iosim_trace_close(r);
        return IOSIM_EXIT_BAD_INPUT;
    }
    return copy_records(prog, r, w, count, NULL, NULL);
}

int copy_records(const char *prog, iosim_trace_reader_t *r,
                 iosim_trace_writer_t *w, uint64_t count,
                 void (*edit)(iosim_rec_t *b, size_t n, void *arg), void *arg)
{
    iosim_rec_t *batch = malloc(CONVERT_BATCH * sizeof *batch);
    if (!batch) {
        iosim_trace_abort(w);
        iosim_trace_close(r);
        cli_error(prog, "out of memory");
        return CLI_EXIT_OOM;
    }
    iosim_err_t err;
    long n = 0;
    while (count > 0 &&
           (n = iosim_trace_read(
                r, batch, count < CONVERT_BATCH ? (size_t)count : CONVERT_BATCH,
                &err)) > 0) {
        count -= (uint64_t)n;
        if (edit)
            edit(batch, (size_t)n, arg);
        if (iosim_trace_write(w, batch, (size_t)n, &err)) {
            n = -2;
            break;
        }
    }
    free(batch);
    iosim_trace_close(r);
    if (n < 0) {
        iosim_trace_abort(w);
        cli_error(prog, "%s", err.msg);
        /* -1: the input is bad; -2: writing failed (disk full, ...):
         * exit 2 either way, as every iosim program does */
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (iosim_trace_commit(w, &err)) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    return 0;
}

int cmd_to_text(int argc, char **argv) { return convert(argc, argv, OUT_TEXT); }

int cmd_from_text(int argc, char **argv)
{
    return convert(argc, argv, OUT_BINARY);
}

int cmd_convert(int argc, char **argv)
{
    return convert(argc, argv, OUT_CONVERT);
}
