/* config_load.c — a YAML file over a configuration.
 *
 * The file is read whole (bounded in size and nesting before libyaml sees
 * it), parsed into one libyaml document, and walked: each key joins its
 * parent's path ("vtd.iotlb: {sets: 8}" is vtd.iotlb.sets), a parameter
 * is assigned through the codec, a group recurses, anything else is an
 * error "file:line:col: path: what" with the nearest known key.  The
 * loader works on a copy and commits it only when the whole file is good,
 * so a failed load changes nothing.  A group whose value is empty (every
 * child commented out) is an empty mapping, not an error.
 * Not modeled: YAML sequences, several documents in one file, merge keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base/vec.h"
#include "config/config_internal.h"

typedef struct load_ctx {
    const char *file;
    yaml_document_t *doc;
    iosim_config_t *cfg;
    iosim_err_t *err;
    /* parameters assigned so far, to catch the same key given twice in
     * different spellings (nested and dotted) */
    const iosim_param_t **seen;
    size_t nseen, capseen;
    /* iosim_config_key_position: the key looked for and where it is */
    const char *want;
    bool found;
    yaml_mark_t found_at;
} load_ctx_t;

static int at(load_ctx_t *x, yaml_mark_t m, const char *path, const char *msg)
{
    if (path && path[0])
        return iosim_err_set(x->err, "%s:%zu:%zu: %s: %s", x->file, m.line + 1,
                             m.column + 1, path, msg);
    return iosim_err_set(x->err, "%s:%zu:%zu: %s", x->file, m.line + 1,
                         m.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

/* A plain empty / ~ / null scalar stands for "nothing here". */
static bool is_null_scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static bool scalar_has_nul(const yaml_node_t *n)
{
    return strlen((const char *)n->data.scalar.value) != n->data.scalar.length;
}

static int note_assigned(load_ctx_t *x, const iosim_param_t *p)
{
    for (size_t i = 0; i < x->nseen; i++)
        if (x->seen[i] == p)
            return 1;
    if (vec_reserve(&x->seen, &x->capseen, x->nseen + 1, 32))
        return -1;
    x->seen[x->nseen++] = p;
    return 0;
}

static int load_mapping(load_ctx_t *x, yaml_node_t *map, const char *prefix);

static int load_pair(load_ctx_t *x, yaml_node_pair_t *pair, yaml_node_t *map,
                     const char *prefix)
{
    yaml_node_t *key = yaml_document_get_node(x->doc, pair->key);
    yaml_node_t *val = yaml_document_get_node(x->doc, pair->value);
    if (!key || !val)
        return at(x, map->start_mark, prefix, "malformed mapping");
    if (key->type != YAML_SCALAR_NODE || scalar_has_nul(key))
        return at(x, key->start_mark, prefix, "expected a plain key");

    const char *k = (const char *)key->data.scalar.value;
    /* An empty top-level key would name the root group itself, and an
     * anchored root aliased under it (&a {"": *a}) would recurse forever. */
    if (k[0] == '\0')
        return at(x, key->start_mark, prefix, "empty key");
    char path[PATH_MAX_LEN];
    int len = prefix[0] ? snprintf(path, sizeof path, "%s.%s", prefix, k)
                        : snprintf(path, sizeof path, "%s", k);
    if (len < 0 || (size_t)len >= sizeof path)
        return at(x, key->start_mark, prefix, "key too long");

    /* the same key earlier in this mapping */
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *qk = yaml_document_get_node(x->doc, q->key);
        if (qk && qk->type == YAML_SCALAR_NODE &&
            strcmp((const char *)qk->data.scalar.value, k) == 0)
            return at(x, key->start_mark, path, "duplicate key");
    }

    const iosim_param_t *p = iosim_param_find(path);
    if (p && x->want && !x->found) {
        size_t wl = strlen(x->want);
        if (strncmp(path, x->want, wl) == 0 &&
            (path[wl] == '\0' || path[wl] == '.')) {
            x->found = true;
            x->found_at = key->start_mark;
        }
    }
    if (p) {
        if (val->type != YAML_SCALAR_NODE) {
            char msg[64];
            snprintf(msg, sizeof msg, "expected a scalar value, got %s",
                     node_kind(val));
            return at(x, val->start_mark, path, msg);
        }
        int seen = note_assigned(x, p);
        if (seen < 0)
            return at(x, key->start_mark, path, "out of memory");
        if (seen > 0)
            return at(x, key->start_mark, path, "duplicate key");
        if (scalar_has_nul(val))
            return at(x, val->start_mark, path, "value contains a NUL byte");
        char why[WHY_LEN];
        if (iosim_param_assign(x->cfg, p, (const char *)val->data.scalar.value,
                               why, sizeof why) != 0)
            return at(x, val->start_mark, path, why);
        config_mark_given(x->cfg, p);
        return 0;
    }
    if (config_is_group(path)) {
        if (val->type == YAML_MAPPING_NODE)
            return load_mapping(x, val, path);
        if (is_null_scalar(val))
            return 0;
        char msg[64];
        snprintf(msg, sizeof msg, "expected a mapping, got %s", node_kind(val));
        return at(x, val->start_mark, path, msg);
    }
    char near[PATH_MAX_LEN], msg[PATH_MAX_LEN + 64];
    if (config_suggest(path, near, sizeof near))
        snprintf(msg, sizeof msg, "unknown key (did you mean %s?)", near);
    else
        snprintf(msg, sizeof msg, "unknown key");
    return at(x, key->start_mark, path, msg);
}

static int load_mapping(load_ctx_t *x, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
        if (load_pair(x, pair, map, prefix) != 0)
            return -1;
    return 0;
}

static int yaml_error(const char *file, const yaml_parser_t *ps,
                      iosim_err_t *err)
{
    const char *problem = ps->problem ? ps->problem : "invalid YAML";
    switch (ps->error) {
    case YAML_NO_ERROR:
        /* libyaml failed without saying why: its loader (loader.c,
         * yaml_parser_load_scalar and friends) returns without setting an
         * error when yaml_strdup of a default tag fails */
    case YAML_MEMORY_ERROR:
        return iosim_err_set(err, "%s: out of memory while parsing", file);
    case YAML_READER_ERROR:
        /* bytes that are not text (invalid UTF-8, a control character):
         * a binary file given as the config */
        return iosim_err_set(err, "%s: not a YAML file (byte %zu: %s)", file,
                             ps->problem_offset, problem);
    default:
        if (ps->context)
            return iosim_err_set(
                err, "%s:%zu:%zu: %s (%s)", file, ps->problem_mark.line + 1,
                ps->problem_mark.column + 1, problem, ps->context);
        return iosim_err_set(err, "%s:%zu:%zu: %s", file,
                             ps->problem_mark.line + 1,
                             ps->problem_mark.column + 1, problem);
    }
}

static int config_load(iosim_config_t *c, const char *path, const char *want,
                       yaml_mark_t *found_at, iosim_err_t *err);

int iosim_config_load(iosim_config_t *c, const char *path, iosim_err_t *err)
{
    return config_load(c, path, NULL, NULL, err);
}

int iosim_config_key_position(const char *path, const char *key, size_t *line,
                              size_t *col)
{
    iosim_config_t *scratch = iosim_config_new();
    iosim_err_t err;
    yaml_mark_t m = {0};
    int rc = scratch ? config_load(scratch, path, key, &m, &err) : -1;
    iosim_config_free(scratch);
    if (rc != 0)
        return -1;
    *line = m.line + 1;
    *col = m.column + 1;
    return 0;
}

/* Limits for hostile input: libyaml's parse time grows with
 * the square of the nesting depth of flow collections ([[[[...]]]]: 40 k
 * levels in 80 KB took 6 s), and its memory with the size.  A config is
 * a few KB (configs/vtd.yaml: 20 KB) and nests 4 levels (dev.mlx5.x is
 * the deepest key), so 1 MiB and 64 levels leave room for comments and
 * layout while bounding the parse to milliseconds. */
#define CONFIG_MAX_BYTES (1u << 20)
#define CONFIG_MAX_DEPTH 64

/* A zstd frame (a trace given as --config) or a NUL byte: not YAML text,
 * said before libyaml would report a byte it cannot decode. */
static int config_check_text(const char *path, const unsigned char *t,
                             size_t len, iosim_err_t *err)
{
    static const unsigned char zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    if (len >= 4 && memcmp(t, zstd_magic, 4) == 0)
        return iosim_err_set(err,
                             "%s: not a YAML file (zstd-compressed: a "
                             "trace goes last on the command line)",
                             path);
    const unsigned char *nul = memchr(t, 0, len);
    if (nul)
        return iosim_err_set(err,
                             "%s: not a YAML file (a NUL byte at byte "
                             "%zu: binary)",
                             path, (size_t)(nul - t));
    return 0;
}

/* The whole file (a FIFO or /dev/stdin too), at most CONFIG_MAX_BYTES. */
static int config_read_bounded(FILE *f, const char *path, unsigned char **out,
                               size_t *len, iosim_err_t *err)
{
    size_t cap = 0, n = 0;
    unsigned char *buf = NULL;
    for (;;) {
        if (n == cap) {
            if (cap > CONFIG_MAX_BYTES) {
                /* a trace given as the config is large too: say so */
                int binary = config_check_text(path, buf, n, err);
                free(buf);
                if (binary)
                    return -1;
                return iosim_err_set(err,
                                     "%s: larger than %u bytes (a "
                                     "config is a few KB)",
                                     path, CONFIG_MAX_BYTES);
            }
            if (vec_reserve(&buf, &cap, n + 1, 4096)) {
                free(buf);
                return iosim_err_set(err, "%s: out of memory", path);
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return iosim_err_set(err, "%s: read error: %s", path,
                             iosim_errno_str(errno));
    }
    if (n > CONFIG_MAX_BYTES) {
        int binary = config_check_text(path, buf, n, err);
        free(buf);
        if (binary)
            return -1;
        return iosim_err_set(err,
                             "%s: larger than %u bytes (a config is a "
                             "few KB)",
                             path, CONFIG_MAX_BYTES);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Nesting depth before libyaml sees the text: flow brackets outside
 * quotes and comments, and block indentation steps (one level per
 * deeper indentation than every open one). */
static int config_check_depth(const char *path, const unsigned char *t,
                              size_t n, iosim_err_t *err)
{
    unsigned flow = 0, line = 1, col = 1;
    char quote = 0;
    bool comment = false, line_start = true;
    unsigned indent = 0, nind = 0;
    unsigned ind[CONFIG_MAX_DEPTH + 1];
    for (size_t i = 0; i < n; i++, col++) {
        unsigned char ch = t[i];
        if (ch == '\n') {
            line++;
            col = 0;
            comment = false;
            line_start = true;
            indent = 0;
            continue;
        }
        if (line_start) {
            if (ch == ' ') {
                indent++;
                continue;
            }
            line_start = false;
            if (ch != '#' && !flow && !quote) {
                while (nind && ind[nind - 1] > indent)
                    nind--;
                if (!nind || ind[nind - 1] < indent)
                    ind[nind++] = indent;
                /* "- - - x": each dash opens a sequence on this line */
                unsigned dashes = 0;
                for (size_t j = i; j + 1 < n && t[j] == '-' &&
                                   (t[j + 1] == ' ' || t[j + 1] == '\t');
                     j += 2)
                    dashes++;
                if (nind + dashes > CONFIG_MAX_DEPTH)
                    return iosim_err_set(err,
                                         "%s:%u:%u: nested deeper than "
                                         "%d levels",
                                         path, line, col, CONFIG_MAX_DEPTH);
            }
        }
        if (comment)
            continue;
        if (quote) {
            if (ch == '\\' && quote == '"')
                i++, col++;
            else if (ch == (unsigned char)quote)
                quote = 0;
            continue;
        }
        if (ch == '#' && (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t'))
            comment = true;
        else if (ch == '"' || ch == '\'')
            quote = (char)ch;
        else if (ch == '[' || ch == '{') {
            if (++flow > CONFIG_MAX_DEPTH)
                return iosim_err_set(err,
                                     "%s:%u:%u: nested deeper than %d "
                                     "levels",
                                     path, line, col, CONFIG_MAX_DEPTH);
        } else if ((ch == ']' || ch == '}') && flow) {
            flow--;
        }
    }
    return 0;
}

int config_yaml_parse(const char *path, yaml_document_t *doc, iosim_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return iosim_err_set(err, "%s: %s", path, iosim_errno_str(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return iosim_err_set(err, "%s: is a directory", path);
    }

    size_t len = 0;
    unsigned char *text = NULL;
    int rc = config_read_bounded(f, path, &text, &len, err) ||
             config_check_text(path, text, len, err) ||
             config_check_depth(path, text, len, err);
    fclose(f);
    if (rc) {
        free(text);
        return -1;
    }

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return iosim_err_set(err, "%s: out of memory", path);
    }
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, doc)) {
        rc = yaml_error(path, &parser, err);
    } else if (yaml_document_get_root_node(doc)) {
        /* a second document would be silently ignored otherwise */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = yaml_error(path, &parser, err);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&next);
            if (r2)
                rc = iosim_err_set(err,
                                   "%s:%zu:%zu: only one YAML document "
                                   "is allowed",
                                   path, r2->start_mark.line + 1,
                                   r2->start_mark.column + 1);
            yaml_document_delete(&next);
        }
        if (rc)
            yaml_document_delete(doc);
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

/* Loads path over c; with want, also finds that key (found_at; returns
 * 1 when the file loads but does not name it). */
static int config_load(iosim_config_t *c, const char *path, const char *want,
                       yaml_mark_t *found_at, iosim_err_t *err)
{
    yaml_document_t doc;
    if (config_yaml_parse(path, &doc, err))
        return -1;

    /* Work on a copy: a file with an error changes nothing. */
    int rc = 0;
    iosim_config_t work = *c;
    load_ctx_t x = {
        .file = path, .doc = &doc, .cfg = &work, .err = err, .want = want};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root) {
        if (root->type == YAML_MAPPING_NODE)
            rc = load_mapping(&x, root, "");
        else if (!is_null_scalar(root))
            rc = at(&x, root->start_mark, NULL,
                    "expected a mapping at the top level");
    }
    free(x.seen);
    if (rc == 0)
        *c = work;
    if (rc == 0 && want) {
        if (x.found)
            *found_at = x.found_at;
        else
            rc = 1;
    }
    yaml_document_delete(&doc);
    return rc;
}
