/* iosim_trace_main.c — the iosim-trace program: trace tools.
 * Dispatches to the subcommands of trace_cmds.h. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"

// clang-format off
static const trace_cmd_t trace_cmds[] = {
    {"to-text", cmd_to_text, "binary trace -> text form (streaming)"},
    {"from-text", cmd_from_text, "text form -> binary trace (streaming)"},
    {"convert", cmd_convert, "rewrite a trace in binary format v2 (or v1: "
                             "--format v1)"},
    {"verify", cmd_verify, "decode a whole trace, checking checksums and "
                           "the block index"},
    {"stat", cmd_stat, "counts per kind, size histogram, peak live "
                       "mappings, duration"},
    {"import", cmd_import, "import ftrace or QEMU trace text "
                           "(import ftrace|qemu IN -o OUT.zst)"},
    {"gen", cmd_gen, "generate synthetic traces (gen random|nic|pvp ...)"},
    {"retime", cmd_retime, "rescale a trace's times (a slow guest's capture "
                           "to a device's rate)"},
    {"merge", cmd_merge, "one trace of several tenants (devices, domains and "
                         "IOVAs kept apart; merged by time)"},
    {"pcap", cmd_pcap, "libslirp's answer to each guest TCP segment of a "
                       "QEMU filter-dump pcap (user networking)"},
    {NULL, NULL, NULL},
};
// clang-format on

static void usage(FILE *out)
{
    fprintf(out, "usage: iosim-trace COMMAND [ARGS]  (iosim-trace COMMAND "
                 "--help for details)\n\ncommands:\n");
    for (const trace_cmd_t *c = trace_cmds; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fputs("\n" CLI_EXIT_STATUS_HELP, out);
}

int main(int argc, char **argv)
{
    /* past a file-size limit a write then fails (EFBIG) and the command
     * removes its temporary, instead of being killed with it left */
    signal(SIGXFSZ, SIG_IGN);
    int opening =
        cli_first_word(argc, argv, usage, "iosim-trace", "no command given");
    if (opening >= 0)
        return opening ? opening : cli_flush_stdout("iosim-trace");
    if (!strcmp(argv[1], "--version")) {
        printf("iosim-trace %s\n", IOSIM_VERSION_STRING);
        return cli_flush_stdout("iosim-trace");
    }
    /* a command that succeeded has written all it printed on stdout
     * (--help texts, pcap's counts), or it exits 2 */
    for (const trace_cmd_t *c = trace_cmds; c->name; c++)
        if (!strcmp(argv[1], c->name)) {
            int rc = c->run(argc - 1, argv + 1);
            return rc ? rc : cli_flush_stdout("iosim-trace");
        }
    fprintf(stderr, "iosim-trace: unknown command '%s' (try --help)\n",
            argv[1]);
    return IOSIM_EXIT_BAD_INPUT;
}
