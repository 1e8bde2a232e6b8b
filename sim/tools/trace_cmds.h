/* trace_cmds.h — subcommands of iosim-trace.
 * Concepts: each subcommand is one function in its own file
 * (sim/tools/cmd_<name>.c) and one line of the table in
 * iosim_trace_main.c.  A command returns the process exit status
 * (0 ok, 1 failure, 2 bad input) and never calls exit itself. */
#ifndef IOSIM_TRACE_CMDS_H
#define IOSIM_TRACE_CMDS_H

#include <stdint.h>

#include "iosim.h"

typedef struct trace_cmd {
    const char *name; /* "to-text"                               */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary; /* one line for --help                      */
} trace_cmd_t;

int cmd_to_text(int argc, char **argv);   /* cmd_convert.c */
int cmd_from_text(int argc, char **argv); /* cmd_convert.c */
int cmd_convert(int argc, char **argv);   /* cmd_convert.c */
int cmd_verify(int argc, char **argv);    /* cmd_verify.c  */
int cmd_stat(int argc, char **argv);      /* cmd_stat.c    */
int cmd_import(int argc, char **argv);    /* cmd_import.c  */
int cmd_gen(int argc, char **argv);       /* cmd_gen.c     */
int cmd_retime(int argc, char **argv);    /* cmd_retime.c  */
int cmd_merge(int argc, char **argv);     /* cmd_merge.c   */
int cmd_pcap(int argc, char **argv);      /* cmd_pcap.c    */

/* The streaming loop of to-text, from-text, convert and retime
 * (cmd_convert.c): the records of r, at most count of them (UINT64_MAX:
 * all), batch by batch, each batch through edit (NULL: none; arg is its),
 * into w, then w committed.  Closes r; on any error (a bad input, a
 * failed write, no memory) aborts w and prints one line.  Returns the
 * exit status: 0, or 2 (bad input, an unwritable output, or out of
 * memory: CLI_EXIT_OOM). */
int copy_records(const char *prog, iosim_trace_reader_t *r,
                 iosim_trace_writer_t *w, uint64_t count,
                 void (*edit)(iosim_rec_t *b, size_t n, void *arg), void *arg);

/* retime's rule, which merge --factor applies too (cmd_retime.c): t moved
 * to t0 + (t - t0) x factor (a t before t0 keeps its scaled distance
 * below it), then by shift ns; rounded to the nearest ns, clamped to
 * [0, UINT64_MAX]. */
uint64_t retime_time(uint64_t t, uint64_t t0, double factor, int64_t shift);
/* Parses a --factor or --gbps value: a number in (0, 1e9].  Returns -1
 * if it is not one. */
int retime_parse_factor(const char *s, double *out);

#endif
