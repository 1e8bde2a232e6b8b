/* config_echo.c — the effective configuration written out: text
 * ("key = value  # help"), JSON (one nested object) or CSV (key,value),
 * the same values through every route (iosim_param_format); the
 * differences between two configurations; the reference table of
 * --help-config.  Strings go through the one JSON and CSV writers of
 * base/ that reports and `iosim-trace stat` use.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "config/config_internal.h"

size_t iosim_config_diff(const iosim_config_t *base, const iosim_config_t *c,
                         iosim_config_diff_fn fn, void *arg)
{
    size_t n = 0;
    FOR_EACH_PARAM(p)
    {
        /* equal images print equal text (config_param_image): only rows
         * whose images differ are formatted and compared as text */
        unsigned char ia[IOSIM_PARAM_IMAGE_MAX], ib[IOSIM_PARAM_IMAGE_MAX];
        size_t na = config_param_image(base, p, ia);
        if (na == config_param_image(c, p, ib) && !memcmp(ia, ib, na))
            continue;
        char a[PATH_MAX_LEN], b[PATH_MAX_LEN];
        iosim_param_format(base, p, a, sizeof a);
        iosim_param_format(c, p, b, sizeof b);
        if (strcmp(a, b) != 0) {
            fn(p->path, b, arg);
            n++;
        }
    }
    return n;
}

/* Length of the common group prefix of two paths, in components. */
static size_t common_groups(const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; a[i] && a[i] == b[i]; i++)
        if (a[i] == '.')
            n++;
    return n;
}

static size_t count_dots(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '.';
    return n;
}

static void indent(FILE *out, size_t level)
{
    for (size_t i = 0; i < level; i++)
        fputs("  ", out);
}

/* One nested object; relies on each group's rows being contiguous in the
 * tables (checked by the unit test) so that no key repeats. */
static void write_json(const iosim_config_t *c, FILE *out)
{
    const char *prev = NULL;
    size_t depth = 0; /* open groups below the top-level object */
    fputs("{", out);
    FOR_EACH_PARAM(p)
    {
        size_t keep = prev ? common_groups(prev, p->path) : 0;
        size_t groups = count_dots(p->path);
        if (keep > depth)
            keep = depth;
        while (depth > keep) {
            fputc('\n', out);
            indent(out, depth);
            fputc('}', out);
            depth--;
        }
        if (prev)
            fputc(',', out);
        /* open the groups this row adds */
        const char *comp = p->path;
        for (size_t g = 0; g < groups; g++) {
            const char *dot = strchr(comp, '.');
            if (g >= depth) {
                fputc('\n', out);
                indent(out, depth + 1);
                char group[PATH_MAX_LEN];
                snprintf(group, sizeof group, "%.*s", (int)(dot - comp), comp);
                json_write_string(out, group);
                fputs(": {", out);
                depth++;
            }
            comp = dot + 1;
        }
        fputc('\n', out);
        indent(out, depth + 1);
        json_write_string(out, comp);
        fputs(": ", out);
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        if (p->type == IOSIM_P_STR)
            json_write_string(out, val);
        else
            fputs(val, out);
        prev = p->path;
    }
    while (depth > 0) {
        fputc('\n', out);
        indent(out, depth);
        fputc('}', out);
        depth--;
    }
    fputs("\n}\n", out);
}

void iosim_config_write(const iosim_config_t *c, FILE *out, iosim_format_t fmt)
{
    if (fmt == IOSIM_FMT_JSON) {
        write_json(c, out);
        return;
    }
    FOR_EACH_PARAM(p)
    {
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        if (fmt == IOSIM_FMT_CSV) {
            fprintf(out, "%s,", p->path);
            csv_write_field(out, val);
            fputc('\n', out);
        } else {
            char kv[2 * PATH_MAX_LEN];
            snprintf(kv, sizeof kv, "%s = %s", p->path, val);
            fprintf(out, "%-40s  # %s\n", kv, p->help);
        }
    }
}

void config_each(const iosim_config_t *c, config_each_fn fn, void *arg)
{
    FOR_EACH_PARAM(p)
    {
        char val[PATH_MAX_LEN];
        iosim_param_format(c, p, val, sizeof val);
        fn(p->path, val, p->type, arg);
    }
}

static const char *type_name(iosim_ptype_t t)
{
    switch (t) {
    case IOSIM_P_BOOL:
        return "bool";
    case IOSIM_P_U32:
        return "u32";
    case IOSIM_P_U64:
        return "u64";
    case IOSIM_P_F64:
        return "f64";
    case IOSIM_P_STR:
        return "string";
    }
    return "?";
}

/* Table cell: a '|' inside would split the column. */
static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
    fputs(" |", out);
}

/* Does path fall under filter: the key itself or a group of it
 * (vtd.iotlb matches vtd.iotlb.sets), or with substring, anywhere in it. */
static bool ref_match(const char *path, const char *filter, bool substring)
{
    if (!filter)
        return true;
    if (substring)
        return strstr(path, filter) != NULL;
    size_t n = strlen(filter);
    return !strncmp(path, filter, n) && (path[n] == '\0' || path[n] == '.');
}

/* Appends printf text to buf (n bytes, *len used), cut at the end. */
static void cell_add(char *buf, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cell_add(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    *len = k < 0 ? n : *len + (size_t)k;
}

/* "a|b|c" -> "a, b, c" (no pipes inside a table cell); a choice that is a
 * plug-in implying settings (its params.implies, as --list shows them)
 * gets them after its name: "emulated (implies vtd.caching_mode=true)".
 * They apply when a --compare / sweep item names the plug-in, which the
 * cell says once. */
static void choices_cell(const char *path, const char *choices, char *buf,
                         size_t n)
{
    size_t len = 0;
    bool any = false;
    buf[0] = '\0';
    for (const char *s = choices; *s;) {
        size_t w = strcspn(s, "|");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)w, s);
        cell_add(buf, n, &len, "%s%s", s == choices ? "" : ", ", name);
        const iosim_plugin_params_t *pp = iosim_registry_plugin(path, name);
        for (size_t k = 0; pp && pp->implies && pp->implies[k]; k++) {
            cell_add(buf, n, &len, "%s%s", k ? ", " : " (implies ",
                     pp->implies[k]);
            any = true;
            if (!pp->implies[k + 1])
                cell_add(buf, n, &len, ")");
        }
        s += w + (s[w] == '|');
    }
    if (any)
        cell_add(buf, n, &len,
                 "; implied settings apply where a --compare "
                 "or sweep item names the choice");
}

void iosim_config_write_reference(FILE *out)
{
    iosim_config_write_reference_matching(out, NULL);
}

size_t iosim_config_write_reference_matching(FILE *out, const char *filter)
{
    /* a key or group first; failing that, any key containing the text */
    bool substring = true;
    FOR_EACH_PARAM(p)
    {
        if (ref_match(p->path, filter, false)) {
            substring = false;
            break;
        }
    }
    size_t rows = 0;
    FOR_EACH_PARAM(p)
    {
        if (ref_match(p->path, filter, substring))
            rows++;
    }
    if (rows == 0)
        return 0;
    fputs("| name | type | default | range / choices | help | source |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    FOR_EACH_PARAM(p)
    {
        if (!ref_match(p->path, filter, substring))
            continue;
        char range[1024], names[256];
        if (p->type == IOSIM_P_STR) {
            /* a selector's choices are its registry's names */
            const char *choices =
                p->choices ? p->choices
                : iosim_registry_names(p->path, names, sizeof names) ? names
                                                                     : NULL;
            if (choices)
                choices_cell(p->path, choices, range, sizeof range);
            else {
                snprintf(range, sizeof range, "registered name");
            }
        } else if (p->type == IOSIM_P_BOOL) {
            snprintf(range, sizeof range, "true, false");
        } else if (config_has_range(p)) {
            char lo[32], hi[32];
            config_format_number(p->min, lo, sizeof lo);
            config_format_number(p->max, hi, sizeof hi);
            snprintf(range, sizeof range, "[%s, %s]", lo, hi);
        } else {
            snprintf(range, sizeof range, "any");
        }
        fputs("|", out);
        cell(out, p->path);
        cell(out, type_name(p->type));
        cell(out, p->def ? p->def : "(required)");
        cell(out, range);
        cell(out, p->help);
        cell(out, p->source);
        fputc('\n', out);
    }
    return rows;
}
