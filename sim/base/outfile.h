/* outfile.h — opening an output file that appears whole or not at all.
 *
 * Concepts:
 *   - A regular file (or a new one) is written to a temporary beside it,
 *     "<path>.tmp.<pid>" (outfile_temp_name), which the caller renames
 *     onto path when everything is written, or removes.
 *   - A path that exists and is not a regular file (a device, a FIFO, a
 *     symbolic link) is written through: renaming a temporary onto it
 *     would replace it (-o /dev/null).  A directory is refused.
 * Assumptions: the caller owns what it gets (closes f, frees tmp).
 * Not modeled: nothing; this is plumbing for iosim's outputs and the
 *   trace writer.
 */
#ifndef IOSIM_OUTFILE_H
#define IOSIM_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "iosim_err.h"

/* The temporary of path, "<path>.tmp.<pid>", into buf (snprintf's
 * return: the length it needed).  iosim_trace_temp_name (the public API)
 * names the same file, so a killed program's temporaries are found. */
int outfile_temp_name(const char *path, char *buf, size_t n);

/* Opens path for writing with fopen mode `mode`: *f the stream, *tmp the
 * temporary's name (malloc'ed) or NULL when path is written through.
 * Returns 0, or -1 with err naming path (nothing left open). */
int outfile_open(const char *path, const char *mode, char **tmp, FILE **f,
                 iosim_err_t *err);

/* Finishes what outfile_open opened: flushes and closes f, then renames
 * tmp (if any) onto path; with ok false (the caller's writing failed),
 * or when the flush, close or rename fails, removes tmp instead.  Frees
 * tmp.  Returns 0, or -1 (err set unless ok was false). */
int outfile_close(const char *path, FILE *f, char *tmp, bool ok,
                  iosim_err_t *err);

/* Refuses an output that is one of the run's inputs (the same file,
 * whatever its name: same device and inode), which writing would destroy
 * before or while it is read.  Returns 0, or -1 with err
 * "<opt> <out>: is the input <in>".  A missing file is no input. */
int outfile_not_input(const char *opt, const char *out, const char *in,
                      iosim_err_t *err);

#endif
