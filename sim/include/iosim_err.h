/* iosim_err.h — the error type every part of iosim reports through: one
 * line naming the file or option and the place, never printed by the
 * library (main prints it and exits 2).  Part of the public API (iosim.h
 * includes it; installed beside it) and the one header sim/base/ uses:
 * it includes nothing, so the base folder stays below every component.
 *
 * Concepts: a function that can fail takes an iosim_err_t * and returns
 *   -1 after filling it (iosim_err_set), so errors pass up without
 *   globals; iosim_err_key also records which configuration key the
 *   error is about.
 * Assumptions: a message fits 511 bytes (longer ones are cut).
 * Not modeled: nothing; plumbing.
 */
#ifndef IOSIM_ERR_H
#define IOSIM_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */
typedef struct iosim_err {
    char msg[512]; /* one line, no trailing newline: "file:line:col: what" */
    char key[96];  /* the configuration key the error is about ("vtd.
                      iotlb.sets"), "" if none: set by iosim_err_key */
} iosim_err_t;

/* Formats into err (if non-NULL) and returns -1, so callers can
 * `return iosim_err_set(err, "%s: ...", path);`.  Clears err->key. */
int iosim_err_set(iosim_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As iosim_err_set, for an error about configuration key `key`: the
 * message is "key: what" and err->key holds key, so a caller can point at
 * the key in the file it came from without parsing the message. */
int iosim_err_key(iosim_err_t *err, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The reason for a failed system or library call's errno, as messages
 * give it: "out of memory" for ENOMEM (fopen's or getline's allocation,
 * never to be read as a missing file or the end of the input), else
 * strerror's text. */
const char *iosim_errno_str(int errnum);

#ifdef __cplusplus
}
#endif

#endif /* IOSIM_ERR_H */
