/* test_config.c — the configuration: tables, defaults, YAML loader errors,
 * --set, validation, echo formats and the shipped configs.
 *
 * Concepts: expected values come from routes independent of the loader:
 *   numbers from the sources named in the brief (FIGURES.md / MODEL.md),
 *   error positions found by searching the raw text of the hand-written
 *   bad files (tests/data/config), the JSON echo re-read with libyaml.
 * Assumptions: IOSIM_SOURCE_DIR points at the checkout.
 * Not modeled: the CLI (tests/cli/config_errors.sh).
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>
#include <cmocka.h>

#include "config/config.h"
#include "os/os.h"

#include "test_util.h"

#define DATA IOSIM_SOURCE_DIR "/tests/data/config/"
#define CONFIGS IOSIM_SOURCE_DIR "/configs/"

/* Fields of struct iosim_config counted by hand from config.h:
 * sim 3; vtd 10 scalars + 13 caches x 5 + iotlb.entries 1 + 10 timing +
 * 7 queue; os 18
 * (kernel, kernel_default: os_kernel.c); hv 6;
 * scheme 12; dev: model 1 + each model's own rows (dev_*.c).
 * A new parameter adds its field to config.h, a row and 1 here. */
#define DEV_MODEL_PARAMS (2 + 20 + 10 + 20) /* touch virtio-net e1000e mlx5 */
#define EXPECTED_PARAMS                                                        \
    (3 + 10 + 13 * 5 + 1 + 10 + 7 + 18 + 6 + 12 + 1 + DEV_MODEL_PARAMS)

static size_t param_count(void)
{
    size_t n = 0;
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++)
            n++;
    return n;
}

/* dev.touch.granule as the configuration holds it (the touch model's own
 * struct, read through its row) */
static uint32_t touch_granule(const iosim_config_t *c)
{
    const iosim_param_t *p = iosim_param_find("dev.touch.granule");
    uint32_t v;
    memcpy(&v, (const char *)c + p->offset, sizeof v);
    return v;
}

static size_t type_size(iosim_ptype_t t)
{
    switch (t) {
    case IOSIM_P_BOOL:
        return sizeof(bool);
    case IOSIM_P_U32:
        return sizeof(uint32_t);
    case IOSIM_P_U64:
        return sizeof(uint64_t);
    case IOSIM_P_F64:
        return sizeof(double);
    case IOSIM_P_STR:
        return IOSIM_NAME_LEN;
    }
    return 0;
}

/* 1-based line and column of the occurrence-th (1-based) needle. */
static void find_pos(const char *path, const char *needle, int occurrence,
                     int *line, int *col)
{
    size_t len;
    char *text = (char *)slurp(path, &len);
    const char *hit = text;
    for (int i = 0; i < occurrence; i++) {
        hit = strstr(i ? hit + 1 : hit, needle);
        assert_non_null(hit);
    }
    *line = 1;
    const char *bol = text;
    for (const char *s = text; s < hit; s++)
        if (*s == '\n') {
            (*line)++;
            bol = s + 1;
        }
    *col = (int)(hit - bol) + 1;
    free(text);
}

/* ------------------------------------------------------------------ */

static void test_tables_cover_struct(void **state)
{
    (void)state;
    assert_int_equal(param_count(), EXPECTED_PARAMS);
    /* every row inside the struct, no two rows overlapping */
    static unsigned char owner[sizeof(struct iosim_config)];
    memset(owner, 0, sizeof owner);
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            size_t sz = type_size(p->type);
            assert_true(p->offset + sz <= sizeof(struct iosim_config));
            for (size_t b = 0; b < sz; b++) {
                if (owner[p->offset + b])
                    fail_msg("%s overlaps another row", p->path);
                owner[p->offset + b] = 1;
            }
            assert_non_null(p->help);
            assert_non_null(p->source);
            assert_true(strlen(p->source) > 8);
            assert_ptr_equal(iosim_param_find(p->path), p);
        }
    assert_null(iosim_param_find("vtd.iotlb"));
    assert_null(iosim_param_find("vtd.iotlb.asoc"));
}

/* The JSON echo needs every group's rows to be contiguous. */
static void test_groups_contiguous(void **state)
{
    (void)state;
    const iosim_param_t *rows[256];
    size_t n = 0;
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++)
            rows[n++] = p;
    for (size_t i = 0; i < n; i++) {
        char grp[128];
        snprintf(grp, sizeof grp, "%s", rows[i]->path);
        char *dot;
        while ((dot = strrchr(grp, '.'))) {
            *dot = '\0';
            size_t len = strlen(grp);
            /* once a later row leaves the group, no row after may re-enter */
            bool left = false;
            for (size_t j = i + 1; j < n; j++) {
                bool in = strncmp(rows[j]->path, grp, len) == 0 &&
                          rows[j]->path[len] == '.';
                if (!in)
                    left = true;
                else if (left)
                    fail_msg("group %s is split at %s", grp, rows[j]->path);
            }
        }
    }
}

static void test_defaults(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    assert_non_null(c);
    /* every field equals its row's default text, parsed afresh */
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            iosim_config_t probe;
            memset(&probe, 0, sizeof probe);
            char why[256];
            assert_int_equal(
                iosim_param_assign(&probe, p, p->def, why, sizeof why), 0);
            assert_memory_equal((char *)&probe + p->offset,
                                (char *)c + p->offset, type_size(p->type));
        }
    /* and the numbers the sources give (FIGURES.md §1/§2, MODEL.md) */
    assert_int_equal(c->sim.seed, 1);
    assert_string_equal(c->dev.model, "auto");
    assert_int_equal(touch_granule(c), 4096);
    assert_true(c->sim.window_only);
    assert_string_equal(c->vtd.root_mode, "legacy");
    assert_string_equal(c->vtd.translation, "second-stage");
    assert_int_equal(c->vtd.iotlb.sets * c->vtd.iotlb.ways, 64);
    assert_int_equal(c->vtd.iotlb.ways, 8);
    assert_string_equal(c->vtd.iotlb.replacement, "lru");
    assert_true(c->vtd.iotlb.hit_ns == 2.0);
    assert_true(c->vtd.psc[3].hit_ns == 5.0);
    assert_int_equal(c->vtd.psc[3].sets * c->vtd.psc[3].ways, 128);
    assert_false(c->vtd.caching_mode);
    assert_true(c->vtd.mem_ns == 197.0);
    assert_true(c->vtd.dma_base_ns == 65.0);
    assert_int_equal(c->vtd.request_bytes, 4096);
    assert_true(c->vtd.link_gbps == 100.0);
    assert_true(c->vtd.llc_hit_fraction == 0.0);
    assert_int_equal(c->vtd.iq_batch_max, 16);
    assert_int_equal(c->vtd.fs_levels, 4);
    assert_int_equal(c->vtd.ss_levels, 4);
    assert_string_equal(c->os.policy, "strict");
    assert_int_equal(c->os.fq_size, 256);
    assert_true(c->os.fq_timeout_ms == 10.0);
    /* the settings that differ between kernels follow os.kernel (auto:
     * the trace's; without one, 6.12: batches of 16) */
    assert_string_equal(c->os.kernel, "auto");
    assert_string_equal(c->os.strict_batch_set, "kernel");
    iosim_err_t kerr = {0};
    assert_int_equal(os_kernel_resolve(c, NULL, &kerr), 0);
    assert_string_equal(c->os.kernel, "6.12");
    assert_int_equal(c->os.strict_batch, 16);
    assert_true(c->os.cpu_ghz == 3.3);
    assert_true(c->os.inval_submit_cycles == 2130.0);
    assert_true(c->os.map_cycles + c->os.unmap_cycles == 6909.0 - 4593.0);
    assert_string_equal(c->hv.mode, "none");
    assert_true(c->hv.vmexit_cycles == 2530.0);
    /* trap-and-emulate extra cost of a pair = 2 traps' worth */
    assert_true(2 * (c->hv.vmexit_cycles + c->hv.qemu_desc_cycles +
                     c->hv.shadow_page_cycles) ==
                34969.0 - 6909.0);
    assert_int_equal(iosim_config_validate(c, NULL), 0);
    iosim_config_free(c);
}

/* ------------------------------------------------------------------ */
/* Loader errors                                                       */
/* ------------------------------------------------------------------ */

typedef struct bad_case {
    const char *file;
    const char *needle; /* text at the reported position */
    int occurrence;
    const char *msg; /* what follows "FILE:LINE:COL: " */
} bad_case_t;

// clang-format off
static const bad_case_t bad_cases[] = {
    {"unknown_key.yaml", "way:", 1,
     "vtd.iotlb.way: unknown key (did you mean vtd.iotlb.ways?)"},
    {"unknown_far.yaml", "frobnicate", 1, "sim.frobnicate: unknown key"},
    {"unknown_group.yaml", "iotbl", 1,
     "vtd.iotbl: unknown key (did you mean vtd.iotlb?)"},
    {"wrong_type.yaml", "abc", 1,
     "vtd.iotlb.sets: expected an unsigned integer, got 'abc'"},
    {"wrong_bool.yaml", "maybe", 1,
     "sim.window_only: expected a boolean (true/false/yes/no/on/off), got "
     "'maybe'"},
    {"wrong_number.yaml", "fast", 1,
     "vtd.mem_ns: expected a number, got 'fast'"},
    {"negative.yaml", "-1", 1,
     "sim.seed: expected an unsigned integer, got '-1'"},
    {"out_of_range.yaml", "0", 1,
     "vtd.max_walks: value 0 out of range [1, 1024]"},
    {"out_of_range_f64.yaml", "1.5", 1,
     "vtd.llc_hit_fraction: value 1.5 out of range [0, 1]"},
    {"bad_choice.yaml", "mru", 1,
     "vtd.iotlb.replacement: expected one of lru|plru|fifo|random|flush, got "
     "'mru'"},
    {"mapping_for_scalar.yaml", "value", 1,
     "sim.seed: expected a scalar value, got a mapping"},
    {"sequence_for_scalar.yaml", "[", 1,
     "sim.seed: expected a scalar value, got a sequence"},
    {"scalar_for_mapping.yaml", "64", 1,
     "vtd.iotlb: expected a mapping, got a scalar"},
    {"duplicate.yaml", "fq_size", 2, "os.fq_size: duplicate key"},
    {"duplicate_dotted.yaml", "sets", 2, "vtd.iotlb.sets: duplicate key"},
    {"top_sequence.yaml", "-", 1, "expected a mapping at the top level"},
    {"late_error.yaml", "9", 1,
     "vtd.ss_levels: value 9 out of range [3, 5]"},
};
// clang-format on

static void test_load_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case_t *bc = &bad_cases[i];
        char path[512], want[1024];
        snprintf(path, sizeof path, DATA "%s", bc->file);
        int line, col;
        find_pos(path, bc->needle, bc->occurrence, &line, &col);
        snprintf(want, sizeof want, "%s:%d:%d: %s", path, line, col, bc->msg);

        iosim_config_t *c = iosim_config_new();
        iosim_config_t *before = iosim_config_clone(c);
        iosim_err_t err = {0};
        assert_int_equal(iosim_config_load(c, path, &err), -1);
        assert_string_equal(err.msg, want);
        /* a failed load changes nothing (late_error sets seed 7 first) */
        assert_memory_equal(c, before, sizeof *c);
        iosim_config_free(before);
        iosim_config_free(c);
    }
}

static void test_syntax_error(void **state)
{
    (void)state;
    const char *path = DATA "syntax.yaml";
    int line, col;
    find_pos(path, "@", 1, &line, &col);
    char want[512];
    snprintf(want, sizeof want, "%s:%d:%d: ", path, line, col);
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_load(c, path, &err), -1);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "cannot start any token"));
    iosim_config_free(c);
}

static void test_missing_file(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_load(c, DATA "no-such-file.yaml", &err), -1);
    assert_string_equal(err.msg,
                        DATA "no-such-file.yaml: No such file or directory");
    iosim_config_free(c);
}

/* ------------------------------------------------------------------ */
/* --set                                                               */
/* ------------------------------------------------------------------ */

static void expect_set_error(iosim_config_t *c, const char *a, const char *want)
{
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_set(c, a, &err), -1);
    assert_string_equal(err.msg, want);
}

static void test_set(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, "vtd.iotlb.ways=16", NULL), 0);
    assert_int_equal(c->vtd.iotlb.ways, 16);
    assert_int_equal(iosim_config_set(c, "dev.touch.granule=2M", NULL), 0);
    assert_int_equal(touch_granule(c), 2u << 20);
    assert_int_equal(iosim_config_set(c, "sim.seed=0x10", NULL), 0);
    assert_int_equal(c->sim.seed, 16);
    assert_int_equal(iosim_config_set(c, " vtd.ats = on ", NULL), 0);
    assert_true(c->vtd.ats);
    assert_int_equal(iosim_config_set(c, "vtd.ats=NO", NULL), 0);
    assert_false(c->vtd.ats);
    assert_int_equal(iosim_config_set(c, "vtd.mem_ns=80.5", NULL), 0);
    assert_true(c->vtd.mem_ns == 80.5);
    assert_int_equal(iosim_config_set(c, "os.policy=lazy", NULL), 0);
    assert_string_equal(c->os.policy, "lazy");

    expect_set_error(c, "vtd.iotlb.bogus=1",
                     "--set vtd.iotlb.bogus: no such key");
    /* the YAML loader's nearest key, for --set too */
    expect_set_error(c, "vtd.iotlb.way=16",
                     "--set vtd.iotlb.way: no such key (did you mean "
                     "vtd.iotlb.ways?)");
    expect_set_error(c, "vtd.iotlb=1", "--set vtd.iotlb: no such key");
    expect_set_error(c, "vtd.iotlb.sets=x",
                     "--set vtd.iotlb.sets: expected an unsigned integer, "
                     "got 'x'");
    expect_set_error(c, "vtd.ss_levels=2",
                     "--set vtd.ss_levels: value 2 out of range [3, 5]");
    expect_set_error(c, "dev.touch.dir=sideways",
                     "--set dev.touch.dir: expected one of write|read, "
                     "got 'sideways'");
    /* 2^32 does not fit a u32 field without a range of its own */
    expect_set_error(c, "dev.touch.granule=4G",
                     "--set dev.touch.granule: value 4294967296 out of range "
                     "[64, 1073741824]");
    expect_set_error(c, "sim.seed=99999999999999999999",
                     "--set sim.seed: expected an unsigned integer, got "
                     "'99999999999999999999'");
    expect_set_error(c, "vtd.iotlb.sets",
                     "--set: expected key=value, got "
                     "'vtd.iotlb.sets'");
    /* failed sets changed nothing */
    assert_int_equal(c->vtd.iotlb.sets, 8);
    assert_int_equal(c->vtd.ss_levels, 4);

    /* the override shows in the echo */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    iosim_config_write(c, out, IOSIM_FMT_TEXT);
    fclose(out);
    assert_non_null(strstr(buf, "\nvtd.iotlb.ways = 16 "));
    assert_non_null(strstr(buf, "\nvtd.mem_ns = 80.5 "));
    free(buf);
    iosim_config_free(c);
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* assignment is valid alone but breaks a rule: the message, and the key
 * the rule reports (err.key, what iosim points at in the config file) */
static void expect_invalid(const char *assignment, const char *key,
                           const char *want)
{
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, assignment, NULL), 0);
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_validate(c, &err), -1);
    assert_string_equal(err.msg, want);
    assert_string_equal(err.key, key);
    iosim_config_free(c);
}

static void test_validate(void **state)
{
    (void)state;
    expect_invalid("vtd.iotlb.sets=6", "vtd.iotlb.sets",
                   "vtd.iotlb.sets: 6 is not a power of two (the set index "
                   "is a bit field)");
    expect_invalid("vtd.psc_pd.ways=0", "vtd.psc_pd",
                   "vtd.psc_pd: sets x ways is 0 (16 x 0) but the cache is "
                   "enabled");
    expect_invalid("vtd.devtlb.sets=0", "vtd.devtlb",
                   "vtd.devtlb: sets x ways is 0 (0 x 8) but the cache is "
                   "enabled");
    /* the valid names listed, those the documentation (README) names */
    expect_invalid("os.policy=bogus", "os.policy",
                   "os.policy: unknown policy 'bogus' (one of strict|lazy|"
                   "passthrough|trace|fands|coiommu|optimistic|static|"
                   "vhost-iotlb)");
    expect_invalid("hv.mode=bogus", "hv.mode",
                   "hv.mode: unknown mode 'bogus' (one of none|emulated|"
                   "nested|guest-passthrough)");
    expect_invalid("vtd.translation=nested", "vtd.translation",
                   "vtd.translation: nested needs vtd.root_mode scalable "
                   "(PGTT is a PASID-entry field)");
    expect_invalid("os.fq_size=100", "os.fq_size",
                   "os.fq_size: 100 is not a power of two");

    iosim_config_t *c = iosim_config_new();
    /* a disabled cache may have no entries */
    assert_int_equal(iosim_config_set(c, "vtd.s2_tlb.enabled=false", NULL), 0);
    assert_int_equal(iosim_config_set(c, "vtd.s2_tlb.sets=0", NULL), 0);
    assert_int_equal(iosim_config_validate(c, NULL), 0);
    /* a value written into the struct directly is still range-checked */
    c->vtd.fs_levels = 6;
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_validate(c, &err), -1);
    assert_string_equal(err.msg, "vtd.fs_levels: value 6 out of range [4, 5]");
    assert_string_equal(err.key, "vtd.fs_levels");
    /* any other error names no key */
    iosim_err_set(&err, "x: %d", 1);
    assert_string_equal(err.key, "");
    /* "key: what" is cut at the end of msg, whichever part is long */
    char long_text[700];
    memset(long_text, 'w', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    assert_int_equal(iosim_err_key(&err, "k", "%s", long_text), -1);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_memory_equal(err.msg, "k: www", 6);
    assert_int_equal(iosim_err_key(&err, long_text, "what"), -1);
    assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
    assert_null(strchr(err.msg, ':'));
    assert_int_equal(strlen(err.key), sizeof err.key - 1);
    iosim_config_free(c);
}

/* ------------------------------------------------------------------ */
/* Echo                                                                */
/* ------------------------------------------------------------------ */

__attribute__((noinline)) static char *echo(const iosim_config_t *c,
                                            iosim_format_t fmt, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    iosim_config_write(c, out, fmt);
    fclose(out);
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Scalar at a path of nested keys in a libyaml document, or NULL. */
static const char *yaml_lookup(yaml_document_t *doc, yaml_node_t *node,
                               const char *const *keys)
{
    if (!*keys)
        return node->type == YAML_SCALAR_NODE
                   ? (const char *)node->data.scalar.value
                   : NULL;
    if (node->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (strcmp((const char *)k->data.scalar.value, keys[0]) == 0)
            return yaml_lookup(doc, yaml_document_get_node(doc, p->value),
                               keys + 1);
    }
    return NULL;
}

/* vtd.iotlb.entries: the sets follow entries / ways in any order of
 * assignment; sets given too must agree. */
static void test_iotlb_entries(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    assert_int_equal(iosim_config_set(c, "vtd.iotlb.entries=128", NULL), 0);
    assert_int_equal(c->vtd.iotlb.sets, 128 / 8); /* default 8 ways */
    assert_int_equal(iosim_config_set(c, "vtd.iotlb.ways=4", NULL), 0);
    assert_int_equal(c->vtd.iotlb.sets, 128 / 4);
    assert_int_equal(iosim_config_validate(c, NULL), 0);
    /* sets given after entries: consistent is fine, else an error */
    assert_int_equal(iosim_config_set(c, "vtd.iotlb.sets=32", NULL), 0);
    assert_int_equal(iosim_config_validate(c, NULL), 0);
    assert_int_equal(iosim_config_set(c, "vtd.iotlb.sets=8", NULL), 0);
    iosim_err_t err = {0};
    assert_int_equal(iosim_config_validate(c, &err), -1);
    assert_string_equal(err.key, "vtd.iotlb.entries");
    assert_string_equal(err.msg, "vtd.iotlb.entries: 128 but vtd.iotlb.sets "
                                 "x ways is 8 x 4 (give sets or entries, not "
                                 "both)");
    iosim_config_free(c);
    expect_invalid("vtd.iotlb.entries=100", "vtd.iotlb.entries",
                   "vtd.iotlb.entries: 100 is not a multiple of "
                   "vtd.iotlb.ways (8)");
    expect_invalid("vtd.iotlb.entries=96", "vtd.iotlb.entries",
                   "vtd.iotlb.entries: 96 / 8 ways = 12 sets, not a power "
                   "of two (the set index is a bit field)");
}

static void test_echo_formats(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    /* a string needing JSON and CSV escapes (free text, not validated) */
    assert_int_equal(iosim_config_set(c, "os.policy=a\"b,c", NULL), 0);
    size_t len;

    /* JSON: balanced, no trailing commas, parses, values in place */
    char *json = echo(c, IOSIM_FMT_JSON, &len);
    int depth = 0, max_depth = 0;
    bool in_str = false;
    for (const char *s = json; *s; s++) {
        if (in_str) {
            if (*s == '\\')
                s++;
            else if (*s == '"')
                in_str = false;
            continue;
        }
        if (*s == '"')
            in_str = true;
        else if (*s == '{')
            depth++;
        else if (*s == '}')
            depth--;
        assert_true(depth >= 0);
        if (depth > max_depth)
            max_depth = depth;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(max_depth, 3); /* {vtd: {iotlb: {...}}} */
    assert_null(strstr(json, ",\n}"));
    assert_null(strstr(json, ", }"));
    assert_non_null(strstr(json, "\"policy\": \"a\\\"b,c\""));

    yaml_parser_t ps;
    yaml_document_t doc;
    assert_true(yaml_parser_initialize(&ps));
    yaml_parser_set_input_string(&ps, (const unsigned char *)json, len);
    assert_true(yaml_parser_load(&ps, &doc));
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    static const char *const k_sets[] = {"vtd", "iotlb", "sets", NULL};
    static const char *const k_s2[] = {"vtd", "s2_psc_pd", "ways", NULL};
    static const char *const k_mem[] = {"vtd", "mem_ns", NULL};
    static const char *const k_pol[] = {"os", "policy", NULL};
    static const char *const k_win[] = {"sim", "window_only", NULL};
    assert_string_equal(yaml_lookup(&doc, root, k_sets), "8");
    assert_string_equal(yaml_lookup(&doc, root, k_s2), "8");
    assert_string_equal(yaml_lookup(&doc, root, k_mem), "197");
    assert_string_equal(yaml_lookup(&doc, root, k_pol), "a\"b,c");
    assert_string_equal(yaml_lookup(&doc, root, k_win), "true");
    /* six top-level groups (sim vtd os hv scheme dev), in table order */
    assert_int_equal(
        root->data.mapping.pairs.top - root->data.mapping.pairs.start, 6);
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);

    /* deterministic */
    size_t len2;
    char *json2 = echo(c, IOSIM_FMT_JSON, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(json, json2, len);
    free(json2);
    free(json);

    /* CSV: one line per parameter, quoted where needed */
    char *csv = echo(c, IOSIM_FMT_CSV, &len);
    assert_int_equal(count_lines(csv), EXPECTED_PARAMS);
    assert_non_null(strstr(csv, "\nvtd.iotlb.sets,8\n"));
    assert_non_null(strstr(csv, "\nos.policy,\"a\"\"b,c\"\n"));
    assert_memory_equal(csv, "sim.seed,1\n", 11);
    free(csv);

    /* text: "key = value  # help" */
    char *text = echo(c, IOSIM_FMT_TEXT, &len);
    assert_int_equal(count_lines(text), EXPECTED_PARAMS);
    assert_non_null(strstr(text, "vtd.iotlb.replacement = lru "));
    const char *hit = strstr(text, "\nvtd.psc_pd.sets = 16 ");
    assert_non_null(hit);
    const char *eol = strchr(hit + 1, '\n');
    const char *hash = strstr(hit, "  # sets of the PDE");
    assert_true(hash && hash < eol);
    free(text);

    /* reference: header + rule + one row per parameter */
    char *ref = NULL;
    FILE *out = open_memstream(&ref, &len);
    iosim_config_write_reference(out);
    fclose(out);
    assert_int_equal(count_lines(ref), EXPECTED_PARAMS + 2);
    assert_non_null(strstr(ref, "| vtd.iotlb.sets | u32 | 8 | [0, 1048576] |"));
    assert_non_null(strstr(ref, "| vtd.iotlb.replacement | string | lru | "
                                "lru, plru, fifo, random, flush |"));
    assert_non_null(strstr(ref, "| vtd.mem_ns | f64 | 197 |"));
    free(ref);
    iosim_config_free(c);
}

static void test_clone_is_deep(void **state)
{
    (void)state;
    iosim_config_t *a = iosim_config_new();
    assert_int_equal(iosim_config_set(a, "os.policy=lazy", NULL), 0);
    iosim_config_t *b = iosim_config_clone(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_memory_equal(a, b, sizeof *a);
    assert_int_equal(iosim_config_set(b, "os.policy=passthrough", NULL), 0);
    assert_int_equal(iosim_config_set(b, "vtd.psc_pml4.ways=2", NULL), 0);
    assert_string_equal(a->os.policy, "lazy");
    assert_int_equal(a->vtd.psc[1].ways, 16);
    iosim_config_free(a);
    iosim_config_free(b);
}

/* ------------------------------------------------------------------ */
/* Shipped configs                                                     */
/* ------------------------------------------------------------------ */

/* Sets every parameter to a valid value other than its default. */
static void set_all_off_default(iosim_config_t *c)
{
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            char text[64], why[256];
            switch (p->type) {
            case IOSIM_P_BOOL:
                snprintf(text, sizeof text, "%s",
                         strcmp(p->def, "true") == 0 ? "false" : "true");
                break;
            case IOSIM_P_STR:
                if (p->choices) {
                    /* first choice, or the second if that is the default */
                    size_t n = strcspn(p->choices, "|");
                    if (strncmp(p->choices, p->def, n) == 0 &&
                        p->def[n] == '\0')
                        snprintf(text, sizeof text, "%.*s",
                                 (int)strcspn(p->choices + n + 1, "|"),
                                 p->choices + n + 1);
                    else
                        snprintf(text, sizeof text, "%.*s", (int)n, p->choices);
                } else {
                    snprintf(text, sizeof text, "not-%s", p->def);
                }
                break;
            default:
                if (p->min <= p->max)
                    snprintf(text, sizeof text, "%.17g",
                             atof(p->def) == p->min ? p->max : p->min);
                else
                    snprintf(text, sizeof text, "%.0f", atof(p->def) + 1);
                break;
            }
            if (iosim_param_assign(c, p, text, why, sizeof why) != 0)
                fail_msg("%s = %s: %s", p->path, text, why);
            assert_string_not_equal(text, p->def);
        }
}

static void test_vtd_yaml_lists_every_default(void **state)
{
    (void)state;
    iosim_config_t *c = iosim_config_new();
    set_all_off_default(c);
    iosim_err_t err = {0};
    if (iosim_config_load(c, CONFIGS "vtd.yaml", &err) != 0)
        fail_msg("%s", err.msg);
    /* every key present, every value the default */
    iosim_config_t *d = iosim_config_new();
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            char got[256], want[256];
            iosim_param_format(c, p, got, sizeof got);
            iosim_param_format(d, p, want, sizeof want);
            if (strcmp(got, want) != 0)
                fail_msg("configs/vtd.yaml: %s = %s, default %s", p->path, got,
                         want);
        }
    assert_int_equal(iosim_config_validate(c, &err), 0);
    iosim_config_free(c);
    iosim_config_free(d);
}

/* Loads a shipped config over the defaults and validates it. */
static iosim_config_t *load_shipped(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, CONFIGS "%s", name);
    iosim_config_t *c = iosim_config_new();
    iosim_err_t err = {0};
    if (iosim_config_load(c, path, &err) != 0 ||
        iosim_config_validate(c, &err) != 0) {
        iosim_config_free(c);
        fail_msg("%s: %s", name, err.msg);
    }
    return c;
}

static void test_nested_guest_yaml(void **state)
{
    (void)state;
    iosim_config_t *c = load_shipped("nested-guest.yaml");
    assert_string_equal(c->vtd.translation, "nested");
    assert_string_equal(c->vtd.root_mode, "scalable");
    assert_string_equal(c->hv.mode, "nested");
    assert_int_equal(c->vtd.fs_levels, 4);
    assert_int_equal(c->vtd.ss_levels, 4);
    iosim_config_free(c);
}

static void test_qemu_guest_yaml(void **state)
{
    (void)state;
    iosim_config_t *c = load_shipped("qemu-guest.yaml");
    /* cap 0xd2008c22260286 / ecap 0xf00f4e of the captures (MODEL.md §3.8
     * bit positions), decoded here independently of the YAML comments */
    const uint64_t cap = 0xd2008c22260286ull, ecap = 0xf00f4eull;
    assert_int_equal(c->vtd.caching_mode, (cap >> 7) & 1);
    assert_int_equal(c->vtd.mamv, (cap >> 48) & 0x3f);
    /* SAGAW bit 1 only => 39-bit => agaw 1 => levels agaw + 2 */
    assert_int_equal((cap >> 8) & 0x1f, 0x2);
    assert_int_equal(c->vtd.ss_levels, 3);
    assert_int_equal(c->vtd.ats, (ecap >> 2) & 1);
    assert_int_equal((ecap >> 43) & 1, 0); /* SMTS=0: legacy */
    assert_string_equal(c->vtd.root_mode, "legacy");
    assert_string_equal(c->vtd.translation, "second-stage");
    /* the captures' kernel, 6.1 (their metadata; os.kernel auto):
     * one descriptor per submission */
    iosim_trace_meta_t meta = {.kernel = "6.1.0-56-amd64"};
    iosim_err_t kerr = {0};
    assert_int_equal(os_kernel_resolve(c, &meta, &kerr), 0);
    assert_int_equal(c->os.strict_batch, 1);
    assert_false(c->os.flush_all_devtlb_cm);
    assert_string_equal(c->hv.mode, "emulated");
    iosim_config_free(c);
}

/* ---- validation and diffs without formatting (issue 24) --------------- */

/* The route iosim_config_validate took for every row before
 * config_param_ok: the row's text (iosim_param_format) assigned again. */
static bool round_trip_ok(const iosim_config_t *c, const iosim_param_t *p)
{
    char text[256], why[256];
    iosim_config_t *probe = iosim_config_clone(c);
    assert_non_null(probe);
    iosim_param_format(c, p, text, sizeof text);
    bool ok = iosim_param_assign(probe, p, text, why, sizeof why) == 0;
    iosim_config_free(probe);
    return ok;
}

/* Values a program may write into a row's field directly: the row's
 * bounds and just past them, extremes, and for doubles the non-finite
 * and subnormal ones; for strings every choice, an unknown name, the
 * longest name and one without its NUL. */
#define N_PROBES 12
static void probe_value(iosim_config_t *c, const iosim_param_t *p, int k)
{
    void *f = (char *)c + p->offset;
    bool range = p->min <= p->max;
    double lo = range ? p->min : 0, hi = range ? p->max : 1e6;
    switch (p->type) {
    case IOSIM_P_BOOL:
        *(bool *)f = k & 1;
        return;
    case IOSIM_P_U32:
    case IOSIM_P_U64: {
        const double d[N_PROBES] = {lo, hi,   lo - 1,       hi + 1,        0,
                                    1,  4096, 4294967295.0, (lo + hi) / 2, 3,
                                    64, 7};
        uint64_t v = d[k] < 0 ? 0 : (uint64_t)d[k];
        if (k == 11)
            v = UINT64_MAX;
        if (p->type == IOSIM_P_U32)
            *(uint32_t *)f = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
        else
            *(uint64_t *)f = v;
        return;
    }
    case IOSIM_P_F64: {
        const double d[N_PROBES] = {lo,
                                    hi,
                                    nextafter(lo, -INFINITY),
                                    nextafter(hi, INFINITY),
                                    0.1,
                                    -0.0,
                                    NAN,
                                    INFINITY,
                                    1e-310 /* subnormal */,
                                    DBL_MIN,
                                    (lo + hi) / 3,
                                    1e300};
        *(double *)f = d[k];
        return;
    }
    case IOSIM_P_STR: {
        char *s = f;
        memset(s, 'x', IOSIM_NAME_LEN);
        if (k == 0) {
            s[IOSIM_NAME_LEN - 1] = 'x'; /* no NUL at all */
            return;
        }
        if (k == 1) {
            s[IOSIM_NAME_LEN - 1] = '\0'; /* the longest name */
            return;
        }
        /* choice k - 2 (or an unknown name past the last) */
        const char *ch = p->choices ? p->choices : "";
        for (int i = 2; i < k && ch; i++) {
            ch = strchr(ch, '|');
            ch = ch ? ch + 1 : NULL;
        }
        size_t n = ch ? strcspn(ch, "|") : 0;
        snprintf(s, IOSIM_NAME_LEN, "%.*s", (int)n, ch ? ch : "bogus");
        return;
    }
    }
}

/* config_param_ok answers as the round trip does, on every row and every
 * probe value: what validation decides is unchanged. */
static void test_param_ok_is_round_trip(void **state)
{
    (void)state;
    size_t rows = 0, refused = 0;
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            iosim_config_t *c = iosim_config_new();
            for (int k = 0; k < N_PROBES; k++) {
                probe_value(c, p, k); /* the whole field each time */
                bool fast = config_param_ok(c, p), slow = round_trip_ok(c, p);
                if (fast != slow)
                    fail_msg("%s probe %d: config_param_ok %d, round trip %d",
                             p->path, k, fast, slow);
                refused += !slow;
            }
            iosim_config_free(c);
            rows++;
        }
    assert_true(rows > 150);
    assert_true(refused > rows); /* the probes reach both answers */
}

/* Equal images exactly when the formatted values are equal, for every
 * row over pairs of probe values (the ones that validate), and with
 * bytes after a string's NUL that differ. */
static void test_param_image_is_format(void **state)
{
    (void)state;
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            iosim_config_t *a = iosim_config_new();
            iosim_config_t *b = iosim_config_new();
            for (int i = 0; i < N_PROBES; i++)
                for (int j = 0; j < N_PROBES; j++) {
                    probe_value(a, p, i); /* the whole field each time */
                    probe_value(b, p, j);
                    if (p->type == IOSIM_P_STR && i == j && i >= 2)
                        ((char *)b + p->offset)[IOSIM_NAME_LEN - 1] = 'z';
                    if (config_param_ok(a, p) && config_param_ok(b, p)) {
                        unsigned char ia[IOSIM_PARAM_IMAGE_MAX],
                            ib[IOSIM_PARAM_IMAGE_MAX];
                        size_t na = config_param_image(a, p, ia);
                        size_t nb = config_param_image(b, p, ib);
                        char fa[256], fb[256];
                        iosim_param_format(a, p, fa, sizeof fa);
                        iosim_param_format(b, p, fb, sizeof fb);
                        bool same_image = na == nb && !memcmp(ia, ib, na);
                        if (same_image != !strcmp(fa, fb))
                            fail_msg("%s probes %d/%d: '%s' '%s'", p->path, i,
                                     j, fa, fb);
                    }
                }
            iosim_config_free(a);
            iosim_config_free(b);
        }
}

/* iosim_config_diff (which skips rows of equal images) lists what the
 * formatted texts say differs, in table order. */
static void diff_collect(const char *key, const char *value, void *arg)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 4096 - n, "%s=%s;", key, value);
}

static void test_diff_by_text(void **state)
{
    (void)state;
    iosim_config_t *a = iosim_config_new(), *b = iosim_config_new();
    assert_int_equal(iosim_config_set(b, "vtd.iotlb.ways=16", NULL), 0);
    assert_int_equal(iosim_config_set(b, "os.policy=lazy", NULL), 0);
    b->sim.app_cycles_per_request = a->sim.app_cycles_per_request;
    /* bytes after a NUL are not the value */
    ((char *)b->hv.mode)[IOSIM_NAME_LEN - 1] = 'q';
    char got[4096] = "", want[4096] = "";
    size_t n = iosim_config_diff(a, b, diff_collect, got);
    size_t m = 0;
    for (const iosim_param_t *const *t = iosim_param_table_list(); *t; t++)
        for (const iosim_param_t *p = *t; p->path; p++) {
            char fa[256], fb[256];
            iosim_param_format(a, p, fa, sizeof fa);
            iosim_param_format(b, p, fb, sizeof fb);
            if (strcmp(fa, fb)) {
                diff_collect(p->path, fb, want);
                m++;
            }
        }
    assert_int_equal(n, m);
    assert_string_equal(got, want);
    assert_string_equal(got, "vtd.iotlb.ways=16;os.policy=lazy;");
    iosim_config_free(a);
    iosim_config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_cover_struct),
        cmocka_unit_test(test_groups_contiguous),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_iotlb_entries),
        cmocka_unit_test(test_echo_formats),
        cmocka_unit_test(test_clone_is_deep),
        cmocka_unit_test(test_vtd_yaml_lists_every_default),
        cmocka_unit_test(test_nested_guest_yaml),
        cmocka_unit_test(test_qemu_guest_yaml),
        cmocka_unit_test(test_param_ok_is_round_trip),
        cmocka_unit_test(test_param_image_is_format),
        cmocka_unit_test(test_diff_by_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
