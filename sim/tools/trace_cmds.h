/* trace_cmds.h — subcommands of iosim-trace.
 * Concepts: each subcommand is one function in its own file
 * (sim/tools/cmd_<name>.c) and one line of the table in
 * iosim_trace_main.c.  A command returns the process exit status
 * (0 ok, 1 failure, 2 bad input) and never calls exit itself. */
#ifndef IOSIM_TRACE_CMDS_H
#define IOSIM_TRACE_CMDS_H

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

#endif
