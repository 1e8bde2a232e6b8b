/* param_args.h — command-line options of generators and importers, read
 * against their parameter tables (gen_param_t rows, sim/trace/gen.h).
 *
 * Concepts: the library holds the tables, their defaults and
 *   gen_param_set (one value by row); walking argv, "--opt V",
 *   "--opt=V" and flags, is the command line's job and lives here, for
 *   `iosim-trace gen` and `iosim-trace import`.
 * Assumptions: an option appears as its row's name; a flag takes no
 *   value.
 * Not modeled: nothing (plumbing).
 */
#ifndef IOSIM_TOOLS_PARAM_ARGS_H
#define IOSIM_TOOLS_PARAM_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "iosim.h"
#include "trace/gen.h"

/* Parses argv[1..argc) into opts against rows; given (one per row, may
 * be NULL) says which appeared.  Errors start with "who: " (who NULL: no
 * prefix): unknown option, a flag given a value, a value missing, or the
 * value's own error. */
int gen_params_parse(const char *who, const gen_param_t *rows, void *opts,
                     bool *given, int argc, char **argv, iosim_err_t *err);
/* The same against k's table, errors "gen KIND: --opt: ..." (one line). */
int gen_kind_parse(const gen_kind_t *k, void *opts, bool *given, int argc,
                   char **argv, iosim_err_t *err);
/* The whole run of `gen KIND` after -o and --text: defaults, argv
 * (argv[0] is the kind name), validate, write to path.  0; -2 when the
 * options are at fault (an unknown option, a bad or missing value, the
 * kind's validate hook: a usage error); -1 when the run failed (the
 * output, memory).  err starts with "gen KIND: " for -2. */
int gen_kind_run(const gen_kind_t *k, int argc, char **argv, const char *path,
                 bool text, iosim_err_t *err);

/* For --help: the settings rows imply (gen_imply_t, NULL-key ended) as
 * "  KEY (FROM): WHY" lines under a heading, or one line saying none and
 * why (none). */
void gen_implies_usage(FILE *out, const gen_imply_t *rows, const char *none);

#endif
