/* cmd_import.c — `iosim-trace import SOURCE IN -o OUT.zst [options]`.
 *
 * Concepts: the sources are the library's import_sources[] table
 *   (sim/trace/import.h); this command parses flags, guesses metadata
 *   from the capture folder, runs the source into a sink and prints what
 *   it saw on stderr.  The output appears only if the import succeeds
 *   (the writer renames its temp file on commit).
 * Assumptions: a capture folder (traces/raw/SHARED-CAPTURES.md) may hold
 *   iommu-info.txt (policy) and dmesg.txt (kernel) next to the input.
 * Not modeled: nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/outfile.h"
#include "dev/dev.h"
#include "iosim.h"
#include "tools/cli_util.h"
#include "tools/trace_cmds.h"
#include "trace/import.h"
#include "trace/trace_internal.h"

#define PROG "iosim-trace import"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iosim-trace import ftrace IN -o OUT.zst [options]\n"
        "       iosim-trace import qemu QEMU_LOG --guest FTRACE_TXT "
        "-o OUT.zst [options]\n"
        "IN may be plain text or zstd-compressed; '-' reads stdin "
        "(ftrace only).\n"
        "options:\n"
        "  --workload W     meta workload (redis, memcached, ...)\n"
        "  --dev-model M    meta device: the NIC's device model "
        "(virtio-net, e1000e,\n"
        "                   mlx5; iosim --list), run by dev.model auto\n"
        "  --policy P       meta policy (strict|lazy|passthrough); "
        "default: guessed\n"
        "                   from iommu-info.txt next to the input\n"
        "  --requests N     meta requests: the load's request count in the\n"
        "                   window (per-request metrics use it)\n"
        "  --kernel K       meta kernel; default: from dmesg.txt next "
        "to the input\n"
        "  --window         keep only BENCH_START..BENCH_END\n"
        "  --device BB:DD.F device of map/unmap records (default "
        "01:00.0)\n"
        "  --domain N       domain id of map/unmap/DMA records "
        "(default: the most\n"
        "                   common DID of the first IOTLB "
        "invalidations)\n"
        "  --text           write the text form instead of zstd\n"
        "sources:\n");
    for (const import_source_t *const *s = import_sources; *s; s++)
        fprintf(out, "  %-8s %s\n", (*s)->name, (*s)->summary);
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

/* Policy from the capture's iommu-info.txt: the kernel's own boot lines
 * ("Default domain type: Passthrough", "invalidation policy: strict
 * mode") win over the command line (iommu=pt, iommu.strict=0/1). */
static void guess_policy(const char *dir, char *out, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/iommu-info.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    const char *cmdline = NULL, *boot = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Default domain type: Passthrough"))
            boot = "passthrough";
        else if (!boot && strstr(line, "invalidation policy: strict mode"))
            boot = "strict";
        else if (!boot && strstr(line, "invalidation policy: lazy mode"))
            boot = "lazy";
        if (strstr(line, "iommu=pt"))
            cmdline = "passthrough";
        else if (!cmdline && strstr(line, "iommu.strict=1"))
            cmdline = "strict";
        else if (!cmdline && strstr(line, "iommu.strict=0"))
            cmdline = "lazy";
    }
    fclose(f);
    if (boot || cmdline)
        snprintf(out, n, "%s", boot ? boot : cmdline);
}

static void guess_kernel(const char *dir, char *out, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/dmesg.txt", dir);
    FILE *f = fopen(path, "r");
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

static void print_counts(const import_counts_t *c, const char *source)
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
            source, (unsigned long long)c->lines,
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
    if (!strcmp(source, "qemu"))
        fprintf(stderr,
                PROG ": qemu: %llu translations -> %llu DMA (%llu after "
                     "their map, %llu to IOVAs mapped before the capture, "
                     "%llu such pages given an explicit MAP), "
                     "%llu dropped outside the guest trace; %llu anchors "
                     "(%llu re-ordered: matched past a guest descriptor "
                     "with the same timestamp), "
                     "%llu earlier descriptors skipped, %u sync "
                     "candidate(s), timestamps %s; QEMU's own IOTLB on "
                     "those DMA: %llu hits, %llu misses; %llu trapped "
                     "queue-tail writes\n",
                (unsigned long long)c->qemu_dma,
                (unsigned long long)c->qemu_dma_kept,
                (unsigned long long)c->qemu_dma_matched,
                (unsigned long long)c->qemu_dma_unmapped,
                (unsigned long long)c->qemu_premapped,
                (unsigned long long)c->qemu_dma_dropped,
                (unsigned long long)c->qemu_anchors,
                (unsigned long long)c->qemu_reordered,
                (unsigned long long)c->qemu_desc_skipped,
                c->qemu_sync_candidates, c->qemu_timestamps ? "yes" : "no",
                (unsigned long long)c->qemu_iotlb_hits,
                (unsigned long long)c->qemu_iotlb_misses,
                (unsigned long long)c->qemu_tail_writes);
    uint64_t outcomes = c->qemu_iotlb_hits + c->qemu_iotlb_misses;
    if (!strcmp(source, "qemu") && outcomes && outcomes != c->qemu_dma_kept)
        fprintf(stderr,
                PROG ": qemu: QEMU's IOTLB outcome is missing for %llu of "
                     "%llu DMA (vtd_iotlb_page_hit/update not traced?): no "
                     "ref.iotlb.* written\n",
                (unsigned long long)(c->qemu_dma_kept - outcomes),
                (unsigned long long)c->qemu_dma_kept);
}

int cmd_import(int argc, char **argv)
{
    const char *src_name = NULL, *in_path = NULL, *out_path = NULL;
    import_opts_t opts = {0};
    opts.device = 0x0100; /* 01:00.0, the captures' NIC (iommu-info.txt) */
    opts.domain = -1;
    bool text = false;
    char policy[32] = "", kernel[64] = "";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--window")) {
            opts.window = true;
        } else if (!strcmp(a, "--text")) {
            text = true;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--guest") ||
                   !strcmp(a, "--workload") || !strcmp(a, "--policy") ||
                   !strcmp(a, "--kernel") || !strcmp(a, "--device") ||
                   !strcmp(a, "--domain") || !strcmp(a, "--requests") ||
                   !strcmp(a, "--dev-model")) {
            if (!v) {
                cli_error(PROG, "%s needs a value", a);
                return IOSIM_EXIT_BAD_INPUT;
            }
            i++;
            if (!strcmp(a, "-o")) {
                out_path = v;
            } else if (!strcmp(a, "--guest")) {
                opts.guest_path = v;
            } else if (!strcmp(a, "--workload")) {
                opts.workload = v;
            } else if (!strcmp(a, "--dev-model")) {
                if (!dev_model_find(v)) {
                    cli_error(PROG,
                              "--dev-model '%s': not a device model "
                              "(iosim --list)",
                              v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
                opts.dev_model = v;
            } else if (!strcmp(a, "--policy")) {
                /* the traced kernel's policy (FORMAT.md §3 meta.policy) */
                if (strcmp(v, "strict") && strcmp(v, "lazy") &&
                    strcmp(v, "passthrough")) {
                    cli_error(PROG,
                              "--policy '%s': strict, lazy or "
                              "passthrough",
                              v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
                opts.policy = v;
            } else if (!strcmp(a, "--kernel")) {
                opts.kernel = v;
            } else if (!strcmp(a, "--device")) {
                if (trace_parse_bdf(v, strlen(v), &opts.device) < 0) {
                    cli_error(PROG,
                              "--device %s: expected [DDDD:]BB:DD.F (hex)", v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
            } else if (!strcmp(a, "--requests")) {
                if (cli_parse_u64(v, &opts.requests) < 0) {
                    cli_error(PROG, "--requests %s: expected a count", v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
            } else {
                uint64_t d;
                if (cli_parse_u64(v, &d) < 0 || d > 0xffff) {
                    cli_error(PROG, "--domain %s: expected 0..65535", v);
                    return IOSIM_EXIT_BAD_INPUT;
                }
                opts.domain = (int)d;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error(PROG, "unknown option '%s' (try --help)", a);
            return IOSIM_EXIT_BAD_INPUT;
        } else if (!src_name) {
            src_name = a;
        } else if (!in_path) {
            in_path = a;
        } else {
            cli_error(PROG, "unexpected argument '%s'", a);
            return IOSIM_EXIT_BAD_INPUT;
        }
    }
    if (!src_name || !in_path || !out_path) {
        usage(stderr);
        return IOSIM_EXIT_BAD_INPUT;
    }
    const import_source_t *src = import_find(src_name);
    if (!src) {
        cli_error(PROG, "unknown source '%s' (try --help)", src_name);
        return IOSIM_EXIT_BAD_INPUT;
    }
    /* metadata guesses from the capture folder */
    const char *folder_of = opts.guest_path ? opts.guest_path : in_path;
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
    }

    iosim_err_t err = {0};
    if (outfile_not_input("-o", out_path, in_path, &err) ||
        outfile_not_input("-o", out_path, opts.guest_path, &err)) {
        cli_error(PROG, "%s", err.msg);
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
    print_counts(&counts, src->name);
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
