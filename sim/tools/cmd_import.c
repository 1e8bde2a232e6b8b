/* cmd_import.c — `iosim-trace import SOURCE IN -o OUT.zst [options]`.
 *
 * Concepts: the sources are the library's import_sources[] table
 *   (sim/trace/import.h); this command parses flags, guesses metadata
 *   from the capture folder, runs the source into a sink and prints what
 *   it saw on stderr.  The output appears only if the import succeeds
 *   (the writer renames its temp file on commit).
 * Assumptions: a capture folder (traces/raw/SHARED-CAPTURES.md) may hold
 *   iommu-info.txt (policy), dmesg.txt (kernel) and meta.tsv (the virtio
 *   ring format and queue sizes: scripts/capture/run) next to the input.
 * Not modeled: nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "dev/dev.h"
#include "iosim.h"
#include "os/os.h"
#include "tools/cli_util.h"
#include "tools/param_args.h"
#include "tools/trace_cmds.h"
#include "trace/import.h"
#include "trace/trace_internal.h"

#define PROG "iosim-trace import"

/* The policies a Linux capture can show (os.h capture), '|'-separated,
 * or as "a, b or c" when sep is NULL. */
static void policy_list(char *buf, size_t n, const char *sep)
{
    size_t count = 0, k = 0, len = 0;
    for (size_t i = 0; os_policy_registry[i]; i++)
        count += os_policy_registry[i]->capture.boot != NULL;
    buf[0] = '\0';
    for (size_t i = 0; os_policy_registry[i] && len < n; i++) {
        const os_policy_ops_t *p = os_policy_registry[i];
        if (!p->capture.boot)
            continue;
        const char *s = !k ? "" : sep ? sep : k + 1 < count ? ", " : " or ";
        len += (size_t)snprintf(buf + len, n - len, "%s%s", s, p->name);
        k++;
    }
}

/* A policy whose name a capture's metadata may carry, or NULL. */
static const os_policy_ops_t *capture_policy(const char *name)
{
    const os_policy_ops_t *p = os_policy_find(name);
    return p && p->capture.boot ? p : NULL;
}

/* A source's usage line (its synopsis after "usage: "). */
static void usage_line(FILE *out, const char *lead, const import_source_t *s)
{
    fprintf(out, "%-6s iosim-trace import %s %s", lead, s->name,
            s->input ? s->input : "IN");
    for (const gen_param_t *o = s->params; o && o->name; o++)
        if (o->type == GEN_OPT_PATH)
            fprintf(out, o->min ? " %s %s" : " [%s %s]", o->name, o->metavar);
    fputs(" -o OUT.zst [options]\n", out);
}

/* Each source's usage line and options, from the registry; first's usage
 * line (import SOURCE --help, its usage errors) before the others. */
static void usage(FILE *out, const import_source_t *first)
{
    if (first)
        usage_line(out, "usage:", first);
    for (const import_source_t *const *s = import_sources; *s; s++)
        if (*s != first)
            usage_line(out, first || s != import_sources ? "" : "usage:", *s);
    char stdin_ok[128] = "";
    size_t len = 0;
    for (const import_source_t *const *s = import_sources; *s; s++)
        if ((*s)->reads_stdin && len < sizeof stdin_ok)
            len += (size_t)snprintf(stdin_ok + len, sizeof stdin_ok - len,
                                    "%s%s", len ? ", " : "", (*s)->name);
    char policies[128], models[256] = "";
    policy_list(policies, sizeof policies, "|");
    for (size_t i = 0, len = 0; dev_model_registry[i] && len < sizeof models;
         i++)
        len += (size_t)snprintf(models + len, sizeof models - len, "%s%s",
                                i ? ", " : "", dev_model_registry[i]->name);
    fprintf(out,
            "IN may be plain text or zstd-compressed; '-' reads stdin "
            "(%s only).\n"
            "options:\n"
            "  --workload W     meta workload (redis, memcached, ...)\n"
            "  --dev-model M    meta device: the NIC's device model "
            "(%s;\n"
            "                   iosim --list), run by dev.model auto\n"
            "  --policy P       meta policy (%s); "
            "default: guessed\n"
            "                   from iommu-info.txt next to the input\n"
            "  --requests N     meta requests: the load's request count in "
            "the\n"
            "                   window (per-request metrics use it)\n"
            "  --kernel K       meta kernel; default: from dmesg.txt next "
            "to the input\n"
            "  --virtio-ring R  split|packed: the virtio NIC's ring format "
            "(meta\n"
            "                   implies.dev.virtio-net.ring); default: "
            "packed if\n"
            "                   meta.tsv next to the input says so (nic "
            "packed=on,\n"
            "                   virtio_features bit 34), else not recorded;\n"
            "                   meta.tsv's ring_sizes (else the nic's "
            "rx_queue_size=,\n"
            "                   tx_queue_size=) also give the virtio-net "
            "queue sizes\n"
            "                   (implies.dev.virtio-net.rx_queue_size, "
            "tx_queue_size)\n"
            "  --window         keep only BENCH_START..BENCH_END\n"
            "  --device BB:DD.F device of map/unmap records (default "
            "01:00.0)\n"
            "  --domain N       domain id of map/unmap/DMA records "
            "(default: the most\n"
            "                   common DID of the first IOTLB "
            "invalidations)\n"
            "  --text           write the text form instead of zstd\n",
            stdin_ok, models, policies);
    for (const import_source_t *const *s = import_sources; *s; s++)
        for (const gen_param_t *o = (*s)->params; o && o->name; o++) {
            /* a flag (--pcap-tap) has no metavar: printing NULL with %s
             * is undefined (glibc wrote "(null)") */
            fprintf(out, "  %s%s%s  (%s) ", o->name, o->metavar ? " " : "",
                    o->metavar ? o->metavar : "", (*s)->name);
            for (const char *h = o->help; *h; h++) {
                fputc(*h, out);
                if (*h == '\n')
                    fputs("                   ", out);
            }
            fputc('\n', out);
        }
    fputs("sources:\n", out);
    for (const import_source_t *const *s = import_sources; *s; s++)
        fprintf(out, "  %-8s %s\n", (*s)->name, (*s)->summary);
    for (const import_source_t *const *s = import_sources; *s; s++) {
        fprintf(out, "%s: ", (*s)->name);
        gen_implies_usage(out, (*s)->implies, (*s)->implies_none);
    }
    fputs(CLI_EXIT_STATUS_HELP, out);
}

/* Directory part of path ("." if none) into buf. */
static void dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(buf, n, ".");
    else
        snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

/* A file of the capture folder dir, open for reading, or NULL. */
static FILE *capture_file(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "r");
}

/* Policy from the capture's iommu-info.txt: the kernel's own boot lines
 * (the policies' capture.boot) win over the command line (their
 * capture.cmdline); a policy with capture.overrides (iommu=pt) wins over
 * the others either way. */
static void guess_policy(const char *dir, char *out, size_t n)
{
    FILE *f = capture_file(dir, "iommu-info.txt");
    if (!f)
        return;
    char line[1024];
    const char *cmdline = NULL, *boot = NULL;
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; os_policy_registry[i]; i++) {
            const os_policy_ops_t *p = os_policy_registry[i];
            if (!p->capture.boot)
                continue;
            if ((!boot || p->capture.overrides) &&
                strstr(line, p->capture.boot))
                boot = p->name;
            if (p->capture.cmdline && (!cmdline || p->capture.overrides) &&
                strstr(line, p->capture.cmdline))
                cmdline = p->name;
        }
    }
    fclose(f);
    if (boot || cmdline)
        snprintf(out, n, "%s", boot ? boot : cmdline);
}

static void guess_kernel(const char *dir, char *out, size_t n)
{
    FILE *f = capture_file(dir, "dmesg.txt");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        const char *v = strstr(line, "Linux version ");
        if (v) {
            v += strlen("Linux version ");
            size_t len = strcspn(v, " \n");
            snprintf(out, n, "%.*s", (int)len, v);
            break;
        }
    }
    fclose(f);
}

/* The value N of "key=N" inside v (a meta.tsv cell), 0 if absent or not
 * a count. */
static uint32_t cell_count(const char *v, const char *key)
{
    const char *at = strstr(v, key);
    char *end;
    if (!at)
        return 0;
    unsigned long x = strtoul(at + strlen(key), &end, 10);
    return end > at + strlen(key) && x <= 65536 ? (uint32_t)x : 0;
}

/* The capture's virtio NIC from its meta.tsv (scripts/capture/run).
 * Ring format: "packed" when the nic column has packed=on (the QEMU
 * property, include/hw/virtio/virtio.h DEFINE_VIRTIO_COMMON_FEATURES) or
 * the virtio_features column, the guest's
 * /sys/bus/virtio/devices/virtioN/features of the net device (one '0'/'1'
 * per bit, bit 0 first: drivers/virtio/virtio.c features_show), has bit 34
 * VIRTIO_F_RING_PACKED set (include/uapi/linux/virtio_config.h); nothing
 * otherwise: a split ring is the default.  Queue sizes (*rx, *tx; 0 = not
 * known) of a virtio-net nic: the ring_sizes column ("rx=N,tx=M", the
 * guest's ethtool -g: virtio_net virtnet_get_ringparam ->
 * virtqueue_get_vring_size), else the nic column's rx_queue_size= /
 * tx_queue_size= (the QEMU properties the capture set). */
static void guess_virtio(const char *dir, char *out, size_t n, uint32_t *rx,
                         uint32_t *tx)
{
    FILE *f = capture_file(dir, "meta.tsv");
    if (!f)
        return;
    char head[2048] = "", row[4096] = "";
    bool ok = fgets(head, sizeof head, f) && fgets(row, sizeof row, f);
    fclose(f);
    if (!ok)
        return;
    /* column by column (empty ones too): h and v end at the next tab */
    bool virtio_net = false;
    uint32_t nic_rx = 0, nic_tx = 0, sz_rx = 0, sz_tx = 0;
    for (char *h = head, *v = row; *h && *v;) {
        size_t hl = strcspn(h, "\t\n"), vl = strcspn(v, "\t\n");
        char hc = h[hl], vc = v[vl];
        h[hl] = v[vl] = '\0';
        bool packed =
            (!strcmp(h, "nic") && strstr(v, "packed=on")) ||
            (!strcmp(h, "virtio_features") && vl > 34 && v[34] == '1');
        if (packed)
            snprintf(out, n, "packed");
        if (!strcmp(h, "nic")) {
            virtio_net = !strncmp(v, "virtio-net", 10);
            nic_rx = cell_count(v, "rx_queue_size=");
            nic_tx = cell_count(v, "tx_queue_size=");
        } else if (!strcmp(h, "ring_sizes")) {
            sz_rx = cell_count(v, "rx=");
            sz_tx = cell_count(v, "tx=");
        }
        if (hc != '\t' || vc != '\t')
            break;
        h += hl + 1;
        v += vl + 1;
    }
    if (virtio_net) {
        *rx = sz_rx ? sz_rx : nic_rx;
        *tx = sz_tx ? sz_tx : nic_tx;
    }
}

static void print_counts(const import_counts_t *c, const import_source_t *src)
{
    static const char *const desc_names[16] = {
        [IOSIM_DESC_CC] = "cc",         [IOSIM_DESC_IOTLB] = "iotlb",
        [IOSIM_DESC_DEVTLB] = "devtlb", [IOSIM_DESC_IEC] = "iec",
        [IOSIM_DESC_WAIT] = "wait",     [IOSIM_DESC_PIOTLB] = "piotlb",
        [IOSIM_DESC_PC] = "pc",         [IOSIM_DESC_PDEVTLB] = "pdevtlb",
    };
    fprintf(stderr,
            PROG ": %s: %llu lines -> %llu records: MAP %llu, UNMAP %llu, "
                 "DMA %llu, INVAL %llu (",
            src->name, (unsigned long long)c->lines,
            (unsigned long long)c->records,
            (unsigned long long)c->by_kind[IOSIM_REC_MAP],
            (unsigned long long)c->by_kind[IOSIM_REC_UNMAP],
            (unsigned long long)c->by_kind[IOSIM_REC_DMA],
            (unsigned long long)c->by_kind[IOSIM_REC_INVAL]);
    bool first = true;
    for (unsigned i = 0; i < 16; i++)
        if (c->by_desc[i]) {
            fprintf(stderr, "%s%s %llu", first ? "" : ", ",
                    desc_names[i] ? desc_names[i] : "?",
                    (unsigned long long)c->by_desc[i]);
            first = false;
        }
    fprintf(stderr, "), MARK %llu; domain %u\n",
            (unsigned long long)c->by_kind[IOSIM_REC_MARK], c->domain);
    fprintf(stderr,
            PROG ": skipped: %llu unknown events, %llu other lines, %llu "
                 "outside the window, %llu duplicate dma_* events\n",
            (unsigned long long)c->unknown_events,
            (unsigned long long)c->other_lines,
            (unsigned long long)c->outside_window,
            (unsigned long long)c->dma_api_skipped);
    if (c->tie_reordered)
        fprintf(stderr,
                PROG ": %llu record(s) of another CPU taken first in an "
                     "equal-timestamp tie (IOVA bookkeeping, "
                     "import_ftrace.c)\n",
                (unsigned long long)c->tie_reordered);
    if (c->tie_unresolved)
        fprintf(stderr,
                PROG ": %llu equal-timestamp tie(s) of several CPUs kept in "
                     "file order: no order of them fits the IOVA "
                     "bookkeeping (%llu: search bound reached; "
                     "import_ftrace.c)\n",
                (unsigned long long)c->tie_unresolved,
                (unsigned long long)c->tie_search_cut);
    if (src->describe) {
        char lines[2048];
        src->describe(c, lines, sizeof lines);
        for (const char *l = lines; *l;) {
            const char *nl = strchr(l, '\n');
            size_t len = nl ? (size_t)(nl - l) : strlen(l);
            fprintf(stderr, PROG ": %.*s\n", (int)len, l);
            l += len + (nl != NULL);
        }
    }
}

/* The row named name of any source's options, or NULL. */
static const gen_param_t *source_option(const char *name)
{
    for (const import_source_t *const *s = import_sources; *s; s++) {
        const gen_param_t *o = gen_param_find((*s)->params, name);
        if (o)
            return o;
    }
    return NULL;
}

/* usage in cli_usage_error's shape (arg: the source, or NULL) */
static void usage_to(FILE *out, const void *arg) { usage(out, arg); }

/* A usage error found while reading argv, kept (the first one) until the
 * source is known, so that it can be named. */
static void note_bad(char *bad, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_bad(char *bad, size_t n, const char *fmt, ...)
{
    if (bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bad, n, fmt, ap);
    va_end(ap);
}

int cmd_import(int argc, char **argv)
{
    const char *src_name = NULL, *in_path = NULL, *out_path = NULL;
    import_opts_t opts = {0};
    opts.device = 0x0100; /* 01:00.0, the captures' NIC (iommu-info.txt) */
    opts.domain = -1;
    bool text = false;
    char policy[32] = "", kernel[64] = "", ring[16] = "";
    /* the options of a source, for its table once it is known */
    char *sargv[64] = {"import"};
    int sargc = 1;
    bool help = false;
    char bad[512] = ""; /* the first usage error (note_bad) */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help = true;
        } else if (!strcmp(a, "--window")) {
            opts.window = true;
        } else if (!strcmp(a, "--text")) {
            text = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--workload") ||
                   !strcmp(a, "--policy") || !strcmp(a, "--kernel") ||
                   !strcmp(a, "--device") || !strcmp(a, "--domain") ||
                   !strcmp(a, "--requests") || !strcmp(a, "--dev-model") ||
                   !strcmp(a, "--virtio-ring")) {
            if (!v) {
                note_bad(bad, sizeof bad, "%s needs a value", a);
                continue;
            }
            i++;
            if (!strcmp(a, "-o")) {
                out_path = v;
            } else if (!strcmp(a, "--workload")) {
                opts.workload = v;
            } else if (!strcmp(a, "--dev-model")) {
                if (!dev_model_find(v)) {
                    note_bad(bad, sizeof bad,
                             "--dev-model '%s': not a device model "
                             "(iosim --list)",
                             v);
                    continue;
                }
                opts.dev_model = v;
            } else if (!strcmp(a, "--policy")) {
                /* the traced kernel's policy (FORMAT.md §3 meta.policy) */
                if (!capture_policy(v)) {
                    char names[128];
                    policy_list(names, sizeof names, NULL);
                    note_bad(bad, sizeof bad, "--policy '%s': %s", v, names);
                    continue;
                }
                opts.policy = v;
            } else if (!strcmp(a, "--kernel")) {
                opts.kernel = v;
            } else if (!strcmp(a, "--virtio-ring")) {
                if (strcmp(v, "split") && strcmp(v, "packed")) {
                    note_bad(bad, sizeof bad,
                             "--virtio-ring '%s': split or packed", v);
                    continue;
                }
                opts.virtio_ring = v;
            } else if (!strcmp(a, "--device")) {
                if (trace_parse_bdf(v, strlen(v), &opts.device) < 0) {
                    note_bad(bad, sizeof bad,
                             "--device %s: expected [DDDD:]BB:DD.F (hex)", v);
                    continue;
                }
            } else if (!strcmp(a, "--requests")) {
                if (cli_parse_u64(v, &opts.requests) < 0) {
                    note_bad(bad, sizeof bad, "--requests %s: expected a count",
                             v);
                    continue;
                }
            } else {
                uint64_t d;
                if (cli_parse_u64(v, &d) < 0 || d > 0xffff) {
                    note_bad(bad, sizeof bad, "--domain %s: expected 0..65535",
                             v);
                    continue;
                }
                opts.domain = (int)d;
            }
        } else if (source_option(a)) {
            /* a source's own option: parsed with its table once the
             * source is known */
            bool flag = source_option(a)->type == GEN_OPT_FLAG;
            if (!flag && !v) {
                note_bad(bad, sizeof bad, "%s needs a value", a);
                continue;
            }
            if (sargc + 2 > (int)(sizeof sargv / sizeof sargv[0])) {
                note_bad(bad, sizeof bad, "%s: too many source options", a);
                continue;
            }
            sargv[sargc++] = argv[i];
            if (!flag)
                sargv[sargc++] = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            note_bad(bad, sizeof bad, "unknown option '%s' (try --help)", a);
            continue;
        } else if (!src_name) {
            src_name = a;
        } else if (!in_path) {
            in_path = a;
        } else {
            note_bad(bad, sizeof bad, "unexpected argument '%s'", a);
            continue;
        }
    }
    /* usage errors name the source once it is known, as gen KIND's do:
     * "iosim-trace import SOURCE: what" */
    const import_source_t *src = src_name ? import_find(src_name) : NULL;
    char who[64];
    snprintf(who, sizeof who, PROG "%s%s", src ? " " : "",
             src ? src->name : "");
    if (help) {
        usage(stdout, src);
        return 0;
    }
    if (bad[0]) {
        cli_error(who, "%s", bad);
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (src_name && !src) {
        cli_error(PROG, "unknown source '%s' (try --help)", src_name);
        return IOSIM_EXIT_BAD_INPUT;
    }
    if (!src || !in_path || !out_path) {
        char what[160] = "no source given (";
        for (const import_source_t *const *s = import_sources; *s; s++) {
            size_t len = strlen(what);
            snprintf(what + len, sizeof what - len, "%s%s",
                     s == import_sources ? "" : ", ", (*s)->name);
        }
        size_t len = strlen(what);
        snprintf(what + len, sizeof what - len, ")");
        return cli_usage_error(who,
                               !src       ? what
                               : !in_path ? "no input given"
                                          : "missing -o OUT.zst",
                               usage_to, src);
    }
    iosim_err_t err = {0};
    if (gen_params_parse(NULL, src->params, &opts, NULL, sargc, sargv, &err)) {
        cli_error(who, "%s (try --help)", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    /* a file the source needs besides IN (--guest): "missing --guest
     * FTRACE_TXT", as a missing -o */
    for (const gen_param_t *o = src->params; o && o->name; o++) {
        const char *f = *(const char *const *)((const char *)&opts + o->offset);
        if (o->type == GEN_OPT_PATH && o->min && (!f || !*f)) {
            char what[96];
            snprintf(what, sizeof what, "missing %s %s", o->name, o->metavar);
            return cli_usage_error(who, what, usage_to, src);
        }
    }
    /* metadata guesses from the capture folder: that of the first file
     * the source reads besides IN, else IN's */
    const char *folder_of = in_path;
    for (const gen_param_t *o = src->params; o && o->name; o++) {
        const char *f = *(const char *const *)((const char *)&opts + o->offset);
        if (o->type == GEN_OPT_PATH && f) {
            folder_of = f;
            break;
        }
    }
    if (strcmp(folder_of, "-") != 0) {
        char dir[4096];
        dir_of(folder_of, dir, sizeof dir);
        if (!opts.policy) {
            guess_policy(dir, policy, sizeof policy);
            opts.policy = policy;
        }
        if (!opts.kernel) {
            guess_kernel(dir, kernel, sizeof kernel);
            opts.kernel = kernel;
        }
        uint32_t rx = 0, tx = 0;
        guess_virtio(dir, ring, sizeof ring, &rx, &tx);
        if (!opts.virtio_ring)
            opts.virtio_ring = ring;
        opts.virtio_rx_size = rx;
        opts.virtio_tx_size = tx;
    }

    bool same = outfile_not_input("-o", out_path, in_path, &err) != 0;
    for (const gen_param_t *o = src->params; o && o->name && !same; o++)
        if (o->type == GEN_OPT_PATH)
            same = outfile_not_input(
                       "-o", out_path,
                       *(const char *const *)((const char *)&opts + o->offset),
                       &err) != 0;
    if (same) {
        cli_error(who, "%s", err.msg);
        return IOSIM_EXIT_BAD_INPUT;
    }
    FILE *in = stdin;
    if (strcmp(in_path, "-") != 0) {
        in = fopen(in_path, "rb");
        if (!in) {
            cli_error(PROG, "%s: cannot open: %s", in_path,
                      iosim_errno_str(errno));
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    import_counts_t counts = {0};
    int rc = 0;
    cli_temp_add_trace(out_path); /* killed: no temporary left */
    import_sink_t *sink =
        import_sink_file(out_path, text, &opts, &counts, &err);
    if (!sink || import_run(src, in, in_path, sink, &opts, &counts, &err) < 0 ||
        import_sink_finish(sink, &err) < 0) {
        cli_error(PROG, "%s", err.msg);
        rc = IOSIM_EXIT_BAD_INPUT;
    }
    import_sink_free(sink);
    if (in != stdin)
        fclose(in);
    if (rc)
        return rc;
    print_counts(&counts, src);
    if (counts.overrun)
        cli_error(PROG,
                  "warning: the ftrace ring overran (entries-in-buffer %llu "
                  "< entries-written %llu, or LOST EVENTS): events are "
                  "missing",
                  (unsigned long long)counts.entries_in_buffer,
                  (unsigned long long)counts.entries_written);
    if (opts.window && counts.records == 0)
        cli_error(PROG, "warning: --window kept nothing (no BENCH_START "
                        "mark?)");
    return 0;
}
