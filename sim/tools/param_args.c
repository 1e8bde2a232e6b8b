/* param_args.c — argv against generator and importer parameter tables
 * (param_args.h).
 *
 * Concepts: one walk over argv serves every kind and source, so they
 *   accept the same syntax and report errors the same way; the values
 *   themselves are parsed by the library (gen_param_set), as the
 *   defaults are.
 * Assumptions: as param_args.h.
 * Not modeled: nothing (plumbing).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/param_args.h"

int gen_params_parse(const char *who, const gen_param_t *rows, void *opts,
                     bool *given, int argc, char **argv, iosim_err_t *err)
{
    const char *sep = who ? ": " : "";
    const char *w = who ? who : "";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const gen_param_t *o = rows;
        for (; o && o->name; o++)
            if (strlen(o->name) == name_len && !strncmp(o->name, arg, name_len))
                break;
        if (!o || !o->name)
            return iosim_err_set(err, "%s%sunknown option '%s'", w, sep, arg);
        const char *val = NULL;
        if (o->type == GEN_OPT_FLAG) {
            if (eq)
                return iosim_err_set(err, "%s%s%s takes no value", w, sep,
                                     o->name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return iosim_err_set(err, "%s%s%s needs a value", w, sep, o->name);
        }
        if (gen_param_set(who, o, opts, val, err))
            return -1;
        if (given)
            given[o - rows] = true;
    }
    return 0;
}

int gen_kind_parse(const gen_kind_t *k, void *opts, bool *given, int argc,
                   char **argv, iosim_err_t *err)
{
    return gen_params_parse(gen_kind_who(k), k->params, opts, given, argc, argv,
                            err);
}

int gen_kind_run(const gen_kind_t *k, int argc, char **argv, const char *path,
                 bool text, iosim_err_t *err)
{
    size_t n = 0;
    while (k->params[n].name)
        n++;
    void *opts = calloc(1, k->size);
    bool *given = calloc(n + 1, sizeof *given);
    int rc = -1;
    if (!opts || !given)
        iosim_err_set(err, "gen %s: out of memory", k->name);
    else if (gen_kind_defaults(k, opts, err)) /* a table's bug */
        rc = -1;
    else if (gen_kind_parse(k, opts, given, argc, argv, err) ||
             (k->validate && k->validate(opts, given, err)))
        rc = -2;
    else
        rc = k->write(opts, path, text, err) < 0 ? -1 : 0;
    free(given);
    free(opts);
    return rc;
}

void gen_implies_usage(FILE *out, const gen_imply_t *rows, const char *none)
{
    if (!rows || !rows->key) {
        fprintf(out, "settings its traces imply: none: %s\n",
                none ? none : "(no reason given)");
        return;
    }
    fputs("settings its traces imply (metadata implies.dev.DEVICE.KEY, "
          "DEVICE = the\ntrace's device model; iosim applies each one "
          "the configuration does not give):\n",
          out);
    for (; rows->key; rows++)
        fprintf(out, "  %s (%s): %s\n", rows->key, rows->from, rows->why);
}
