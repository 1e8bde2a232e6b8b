/* cmd_verify.c — `iosim-trace verify TRACE`: decode a whole trace and say
 * what it is.
 *
 * Concepts:
 *   - Reads every record through the library's reader, which checks what
 *     the format lets it check (FORMAT.md §7, §8.6): zstd checksums, block
 *     layout, the block index of v2, record kinds.  Nothing is computed per
 *     record, so its run time is the reader's decode time (scripts/bench
 *     times it on v1 and v2 of the same trace).
 *   - Prints one line: "PATH: N records, format vX" (binary) or "PATH: N
 *     records, text form"; a bad trace is the reader's one-line error and
 *     exit 2.
 * Assumptions: none beyond the trace module's.
 * Not modeled: nothing.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"
#include "trace/trace_internal.h"

#define VERIFY_BATCH 4096 /* records per read call, as the engine reads */

static const char prog[] = "iosim-trace";
/* usage errors: "iosim-trace verify: what", as every command's */
static const char who[] = "iosim-trace verify";

int cmd_verify(int argc, char **argv)
{
    const char *in = NULL;
    uint64_t threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s verify TRACE [--threads N]\n"
                   "  Decodes every record of a trace (binary v1 or v2, or "
                   "text), checking\n"
                   "  checksums, the block index (v2) and record kinds; "
                   "prints the record\n"
                   "  count and the format.  Exit 2 and one line on a bad "
                   "trace.\n"
                   "  --threads N  decode format v2 blocks on N threads "
                   "(default 0: this one)\n" CLI_EXIT_STATUS_HELP,
                   prog);
            return 0;
        }
        if (!strcmp(argv[i], "--threads")) {
            if (++i >= argc || cli_parse_u64(argv[i], &threads) ||
                threads > 16) {
                cli_error(who, "--threads needs a number from 0 "
                               "to 16");
                return IOSIM_EXIT_BAD_INPUT;
            }
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error(who, "unknown option '%s'", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        }
        if (in) {
            cli_error(who, "more than one input ('%s')", argv[i]);
            return IOSIM_EXIT_BAD_INPUT;
        }
        in = argv[i];
    }
    if (!in) {
        cli_error(who,
                  "no trace given (usage: %s verify TRACE "
                  "[--threads N]; try --help)",
                  prog);
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_err_t err;
    iosim_trace_reader_t *r = iosim_trace_open(in, &err);
    if (!r) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    iosim_trace_set_decode_threads(r, (unsigned)threads);
    iosim_rec_t *batch = malloc(VERIFY_BATCH * sizeof *batch);
    if (!batch) {
        iosim_trace_close(r);
        cli_error(prog, "out of memory");
        return CLI_EXIT_OOM;
    }
    uint64_t total = 0;
    long n;
    while ((n = iosim_trace_read(r, batch, VERIFY_BATCH, &err)) > 0)
        total += (uint64_t)n;
    unsigned version = trace_reader_version(r);
    free(batch);
    iosim_trace_close(r);
    if (n < 0) {
        cli_error(prog, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (version)
        printf("%s: %" PRIu64 " records, format v%u\n", in, total, version);
    else
        printf("%s: %" PRIu64 " records, text form\n", in, total);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(prog, "<stdout>: write failed");
        return IOSIM_EXIT_BAD_INPUT;
    }
    return 0;
}
