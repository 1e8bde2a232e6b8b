/* cli_util.h — helpers shared by the iosim and iosim-trace programs.
 * Concepts: only programs (never the library) print errors and exit. */
#ifndef IOSIM_CLI_UTIL_H
#define IOSIM_CLI_UTIL_H

#include "iosim.h"

/* The exit status when memory runs out, in the program itself as in the
 * library (whose error says "out of memory"): 2, as every failure of an
 * iosim program ("exit status" in iosim --help).  It was 1 for the
 * program's own allocations only, which --help called the out-of-memory
 * status while the library's exited 2. */
#define CLI_EXIT_OOM IOSIM_EXIT_BAD_INPUT

/* The last lines of every --help of the iosim programs (iosim, iosim
 * sweep, iosim iotlb-sweep, iosim-trace and each of its commands): the
 * exit status, as the README's "Every iosim program exits 0 ..." says
 * (tests/cli/rough_edges.sh checks each --help has them). */
#define CLI_EXIT_STATUS_HELP                                                   \
    "exit status: 0 ok, 2 bad input, an output that cannot be written,\n"      \
    "or out of memory (one line on stderr says which)\n"

/* Prints "<prog>: <msg>" on stderr. */
void cli_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A command given too little (no input, no -o, no command word): ONE
 * line on stderr, "<prog>: <what> (usage: <the first line of the usage
 * text, without 'usage: '>; try --help)", and returns the bad-input exit
 * status 2.  usage(out, arg) prints the command's usage text (rendered in
 * memory here; the whole text is what --help prints, on stdout). */
int cli_usage_error(const char *prog, const char *what,
                    void (*usage)(FILE *out, const void *arg), const void *arg);
/* The opening of a command whose first argument is a word (iosim-trace
 * COMMAND, gen KIND): without one, cli_usage_error(prog, what, usage)
 * (one line on stderr) and returns the exit status 2; with -h or --help,
 * usage on stdout and returns 0; else returns -1 (go on). */
int cli_first_word(int argc, char **argv, void (*usage)(FILE *out),
                   const char *prog, const char *what);
/* The end of a command that wrote its result on stdout: flushes it;
 * when that or an earlier write failed (a full disk, a closed pipe),
 * "<prog>: stdout: cannot write: <why>" on stderr and returns the exit
 * status 2 (an output that cannot be written), else 0. */
int cli_flush_stdout(const char *prog);
/* Parses "text|json|csv"; returns -1 if unknown. */
int cli_parse_format(const char *s, iosim_format_t *out);
/* Parses an unsigned number with optional K/M/G suffix (powers of 1024).
 * Returns -1 if malformed. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Parses a positive whole duration "N{ns|us|ms|s}" (the unit is
 * required) into nanoseconds.  Returns -1 if malformed, without a unit,
 * zero or too large. */
int cli_parse_duration_ns(const char *s, uint64_t *out);

/* Temporaries a killed program removes: cli_temp_add() registers one
 * (the name is copied; at most 8), cli_temp_drop() forgets it (after its
 * rename).  The first call makes SIGINT, SIGTERM and SIGHUP (unless the
 * caller ignores them) remove the registered files and exit with 128 +
 * the signal. */
void cli_temp_add(const char *path);
void cli_temp_drop(const char *path);
/* The line (printf format, no newline) a SIGINT, SIGTERM or SIGHUP
 * prints on stderr before the program exits: what the interrupt left
 * undone.  Installs the handlers (as cli_temp_add does); call again to
 * update it (the handler prints the last complete one). */
void cli_interrupt_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* cli_temp_add() of the temporary iosim_trace_create(path) will use. */
void cli_temp_add_trace(const char *path);

#endif
