/* report.c — the output of a run: resolved config, trace metadata (with
 * the capture's own reference counts, ref.*) and every sim's counters and
 * derived metrics, as text, JSON or CSV.
 * Concepts: one walk over the X-macro tables per format; numbers are
 * printed with fixed formats so identical inputs give identical bytes;
 * a value that does not exist (a derived metric with a zero denominator,
 * a summary without requests) is each format's missing value, never NaN:
 * null in JSON, "null" in text, an empty field in CSV (what pandas and R
 * read as missing).  Sections have one name in every format: provenance,
 * config, stat, derived, warning, summary, reference (CSV's first column,
 * JSON's keys, text's blocks); each sim's config is its full effective
 * configuration in JSON and CSV (typed in JSON), so a sim equal to the
 * [config] block has its rows too; text shows what differs. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/json.h"
#include "config/config.h" /* os.policy of each sim ([reference]), config_each */
#include "iosim.h"

/* Summary fields, declared once for every format. */
typedef struct summary_field {
    const char *name;
    size_t offset;
    const char *desc;
} summary_field_t;

#define SF(f, d)                                                               \
    {                                                                          \
#f, offsetof(iosim_summary_t, f), d                                    \
    }
static const summary_field_t summary_fields[] = {
    SF(requests, "requests in the measurement window"),
    SF(iommu_cycles, "IOMMU CPU cycles per request"),
#define IOSIM_X_CAUSE(a, id, field, what, help)                                \
    SF(field##_cycles, what " cycles per request"),
    IOSIM_CPU_COSTS(IOSIM_X_CAUSE, )
#undef IOSIM_X_CAUSE
        SF(vmexits, "VM exits per request"),
    SF(mem_reads_per_4k, "IOMMU memory reads per 4 KB page"),
    SF(cpus, "CPUs that issued requests (the busiest bounds cpu_ns)"),
    SF(cpu_ns, "CPU-bound time per request (ns)"),
    SF(device_ns, "device-bound time per request (ns)"),
    SF(throughput_rps, "estimated requests/s: 1 / max(cpu, device)"),
    SF(baseline_rps, "requests/s without IOMMU work (passthrough)"),
    SF(degradation, "1 - throughput / baseline"),
    SF(fands_gbps, "F&S throughput p / (l0 + M lm), 4 KB of data per request"),
    SF(latency_mean_ns, "mean translation latency per DMA request (ns)"),
    SF(latency_p50_ns, "median translation latency (ns)"),
    SF(latency_p99_ns, "99th percentile translation latency (ns)"),
};
#undef SF
#define N_SUMMARY (sizeof summary_fields / sizeof summary_fields[0])

static double summary_value(const iosim_summary_t *s, size_t i)
{
    return *(const double *)((const char *)s + summary_fields[i].offset);
}

size_t iosim_summary_count(void) { return N_SUMMARY; }

const char *iosim_summary_name(size_t i)
{
    return i < N_SUMMARY ? summary_fields[i].name : NULL;
}

const char *iosim_summary_desc(size_t i)
{
    return i < N_SUMMARY ? summary_fields[i].desc : NULL;
}

double iosim_summary_field(const iosim_summary_t *s, size_t i)
{
    return summary_value(s, i);
}

/* What a reference counter of a capture counted, and under which shipped
 * config the model counts the same thing (the QEMU importer,
 * sim/trace/import_qemu.c, sets these; traces/README.md). */
static const char *ref_hint(const char *name)
{
    if (!strncmp(name, "iotlb.", 6))
        return "QEMU's software IOTLB of the emulated device: "
               "configs/qemu-virtio.yaml";
    if (!strcmp(name, "hv.vmexits") || !strncmp(name, "iq.", 3))
        return "queue-tail writes QEMU trapped: configs/qemu-guest.yaml "
               "(or any hv.mode=emulated)";
    return "counted by the capture itself";
}

/* A metadata string of the [reference] block; empty means the capture
 * did not record it. */
static const char *meta_or_unknown(const char *s)
{
    return s[0] ? s : "(not recorded)";
}

/* Each sim's own settings where they differ from the [config] block
 * (what its --compare item, @mode and --sweep values set), so the text
 * report says what each configuration ran. */
static void diff_row(const char *key, const char *value, void *arg)
{
    fprintf(arg, " %s=%s", key, value);
}

static void write_sim_diff(FILE *out, const iosim_config_t *cfg,
                           const iosim_sim_t *s)
{
    fprintf(out, "# config differs from [config]:");
    if (!iosim_config_diff(cfg, iosim_sim_config(s), diff_row, out))
        fprintf(out, " nothing");
    fputc('\n', out);
}

/* Each sim's full effective configuration: JSON (typed values) or CSV
 * config rows of its label. */
typedef struct full_out {
    FILE *out;
    iosim_format_t fmt;
    const char *label;
    size_t n;
} full_out_t;

static void full_row(const char *key, const char *value, iosim_ptype_t type,
                     void *arg)
{
    full_out_t *d = arg;
    if (d->fmt == IOSIM_FMT_JSON) {
        fprintf(d->out, "%s\"%s\": ", d->n ? ", " : "", key);
        if (type == IOSIM_P_STR)
            json_write_string(d->out, value);
        else
            fputs(value, d->out);
    } else {
        fprintf(d->out, "config,");
        csv_write_field(d->out, d->label);
        fprintf(d->out, ",%s,", key);
        csv_write_field(d->out, value);
        fputc('\n', d->out);
    }
    d->n++;
}

static void write_sim_config(FILE *out, iosim_format_t fmt,
                             const iosim_sim_t *s)
{
    full_out_t d = {out, fmt, iosim_sim_label(s), 0};
    config_each(iosim_sim_config(s), full_row, &d);
}

/* The provenance lines of the text report. */
static void text_provenance(FILE *out, const iosim_provenance_t *p)
{
    if (!p)
        return;
    fprintf(out, "# command: %s\n", p->command);
    fprintf(out,
            "# provenance: trace=%s trace_bytes=%llu trace_sha256=%s "
            "config_file=%s config_sha256=%s\n",
            p->trace, (unsigned long long)p->trace_bytes,
            p->trace_sha256[0] ? p->trace_sha256 : "null",
            p->config_file ? p->config_file : "null",
            p->config_sha256[0] ? p->config_sha256 : "null");
    if (p->replay && p->replay[0])
        fprintf(out, "# replay: %s\n", p->replay);
}

/* A counter's row, "name value # desc\n", the bytes fprintf's
 * "%s %llu # %s\n" writes, without parsing that format for each of a
 * hundred counters of every sim of a sweep. */
static void stat_row(FILE *out, const char *name, uint64_t v, const char *desc)
{
    char buf[512], digits[24];
    size_t nn = strlen(name), nd = strlen(desc), nv = 0;
    do
        digits[nv++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (nn + nv + nd + 5 > sizeof buf) {
        fputs(name, out);
        fputc(' ', out);
        while (nv)
            fputc(digits[--nv], out);
        fputs(" # ", out);
        fputs(desc, out);
        fputc('\n', out);
        return;
    }
    char *p = buf;
    memcpy(p, name, nn);
    p += nn;
    *p++ = ' ';
    while (nv)
        *p++ = digits[--nv];
    memcpy(p, " # ", 3);
    p += 3;
    memcpy(p, desc, nd);
    p += nd;
    *p++ = '\n';
    fwrite(buf, 1, (size_t)(p - buf), out);
}

static void write_text(FILE *out, const iosim_provenance_t *prov,
                       const iosim_config_t *cfg, const iosim_trace_meta_t *m,
                       iosim_sim_t *const *sims, size_t n)
{
    fprintf(out, "# iosim %s\n", IOSIM_VERSION_STRING);
    text_provenance(out, prov);
    if (m)
        fprintf(out,
                "# trace: source=%s kernel=%s policy=%s workload=%s cpus=%u "
                "has_dma=%u%s%s%s%s\n",
                m->source, m->kernel, m->policy, m->workload, m->cpus,
                m->has_dma, m->device[0] ? " device=" : "", m->device,
                m->retimed[0] ? " retimed=" : "", m->retimed);
    /* what the trace implies, and whether the echo below has it */
    for (uint32_t i = 0; m && i < m->n_implies; i++) {
        const struct iosim_meta_imply *e = &m->implies[i];
        if (!iosim_config_given(cfg, e->key)) {
            fprintf(out, "# trace implies %s=%s: applied\n", e->key, e->value);
            continue;
        }
        char given[256] = "?";
        const iosim_param_t *p = iosim_param_find(e->key);
        if (p)
            iosim_param_format(cfg, p, given, sizeof given);
        fprintf(out,
                "# trace implies %s=%s: not applied, the configuration "
                "gives %s\n",
                e->key, e->value, given);
    }
    fprintf(out, "[config]\n");
    iosim_config_write(cfg, out, IOSIM_FMT_TEXT);
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "[sim %s]\n", iosim_sim_label(sims[k]));
        write_sim_diff(out, cfg, sims[k]);
        for (size_t i = 0; i < iosim_stat_count(); i++)
            stat_row(out, iosim_stat_name(i), iosim_sim_stat(sims[k], i),
                     iosim_stat_desc(i));
        for (size_t i = 0; i < iosim_derived_count(); i++) {
            double v;
            if (iosim_sim_derived(sims[k], i, &v))
                fprintf(out, "%s %.6f # %s\n", iosim_derived_name(i), v,
                        iosim_derived_desc(i));
            else
                fprintf(out, "%s null # %s\n", iosim_derived_name(i),
                        iosim_derived_desc(i));
        }
    }
    /* side by side: one column per sim */
    fprintf(out, "[summary]\n%-18s", "per request");
    for (size_t k = 0; k < n; k++)
        fprintf(out, " %18s", iosim_sim_label(sims[k]));
    fputc('\n', out);
    /* each sim's summary once (a row per field reads all of them) */
    iosim_summary_t one, *sm = n > 1 ? malloc(n * sizeof *sm) : &one;
    for (size_t k = 0; sm && k < n; k++)
        iosim_sim_summary(sims[k], &sm[k]);
    for (size_t i = 0; i < N_SUMMARY; i++) {
        fprintf(out, "%-18s", summary_fields[i].name);
        for (size_t k = 0; k < n; k++) {
            iosim_summary_t here;
            const iosim_summary_t *v = sm ? &sm[k] : &here;
            if (!sm)
                iosim_sim_summary(sims[k], &here);
            if (v->valid)
                fprintf(out, " %18.3f", summary_value(v, i));
            else
                fprintf(out, " %18s", "null");
        }
        fprintf(out, "  # %s\n", summary_fields[i].desc);
    }
    if (sm != &one)
        free(sm);
    /* the capture's own counts next to the model's (a name that is not a
     * statistic prints '-' for the sims) */
    if (m && m->n_refs) {
        fprintf(out, "[reference]\n");
        /* what the capture was, as its trace metadata records it, and
         * which columns replay its policy (the ones to compare) */
        fprintf(out,
                "# capture: source=%s workload=%s kernel=%s policy=%s; "
                "columns with os.policy=%s:",
                meta_or_unknown(m->source), meta_or_unknown(m->workload),
                meta_or_unknown(m->kernel), meta_or_unknown(m->policy),
                meta_or_unknown(m->policy));
        size_t same = 0;
        for (size_t k = 0; k < n; k++)
            if (m->policy[0] &&
                !strcmp(iosim_sim_config(sims[k])->os.policy, m->policy)) {
                fprintf(out, " %s", iosim_sim_label(sims[k]));
                same++;
            }
        fprintf(out, "%s\n", same ? "" : " none");
        fprintf(out, "%-18s %18s", "whole trace", "capture");
        for (size_t k = 0; k < n; k++)
            fprintf(out, " %18s", iosim_sim_label(sims[k]));
        fputc('\n', out);
        for (uint32_t r = 0; r < m->n_refs && r < IOSIM_META_REFS_MAX; r++) {
            fprintf(out, "%-18s %18llu", m->refs[r].name,
                    (unsigned long long)m->refs[r].value);
            for (size_t k = 0; k < n; k++) {
                uint64_t v;
                if (iosim_sim_stat_by_name(sims[k], m->refs[r].name, &v))
                    fprintf(out, " %18llu", (unsigned long long)v);
                else
                    fprintf(out, " %18s", "-");
            }
            fprintf(out, "  # %s; compare with sim.window_only=false\n",
                    ref_hint(m->refs[r].name));
        }
    }
    /* what is suspicious in the input (whole trace), only when any is */
    bool any = false;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < iosim_warning_count(); i++)
            any = any || iosim_sim_warning(sims[k], i) != 0;
    if (any) {
        fprintf(out, "[warning]\n%-22s", "whole trace");
        for (size_t k = 0; k < n; k++)
            fprintf(out, " %18s", iosim_sim_label(sims[k]));
        fputc('\n', out);
        for (size_t i = 0; i < iosim_warning_count(); i++) {
            fprintf(out, "%-22s", iosim_warning_name(i));
            for (size_t k = 0; k < n; k++)
                fprintf(out, " %18llu",
                        (unsigned long long)iosim_sim_warning(sims[k], i));
            fprintf(out, "  # %s\n", iosim_warning_desc(i));
        }
        fprintf(out, "# --strict-input refuses such records\n");
    }
}

static void json_or_null(FILE *out, const char *s)
{
    if (s && s[0])
        json_write_string(out, s);
    else
        fputs("null", out);
}

static void write_json(FILE *out, const iosim_provenance_t *prov,
                       const iosim_config_t *cfg, const iosim_trace_meta_t *m,
                       iosim_sim_t *const *sims, size_t n)
{
    fprintf(out, "{\n  \"iosim_version\": \"%s\",\n", IOSIM_VERSION_STRING);
    if (prov) {
        fprintf(out, "  \"provenance\": {\"command\": ");
        json_write_string(out, prov->command);
        fprintf(out, ", \"trace\": ");
        json_write_string(out, prov->trace);
        fprintf(out, ", \"trace_bytes\": %llu, \"trace_sha256\": ",
                (unsigned long long)prov->trace_bytes);
        json_or_null(out, prov->trace_sha256);
        fprintf(out, ", \"config_file\": ");
        json_or_null(out, prov->config_file);
        fprintf(out, ", \"config_sha256\": ");
        json_or_null(out, prov->config_sha256);
        if (prov->replay && prov->replay[0]) {
            fprintf(out, ", \"replay\": ");
            json_write_string(out, prov->replay);
        }
        fprintf(out, "},\n");
    }
    if (m) {
        fprintf(out, "  \"trace\": {\"source\": ");
        json_write_string(out, m->source);
        fprintf(out, ", \"kernel\": ");
        json_write_string(out, m->kernel);
        fprintf(out, ", \"policy\": ");
        json_write_string(out, m->policy);
        fprintf(out, ", \"workload\": ");
        json_write_string(out, m->workload);
        fprintf(out, ", \"cpus\": %u, \"has_dma\": %u", m->cpus, m->has_dma);
        /* only when the trace implies settings: older reports keep their
         * bytes */
        for (uint32_t i = 0; i < m->n_implies; i++) {
            fprintf(out, "%s", i ? ", " : ", \"implies\": {");
            json_write_string(out, m->implies[i].key);
            fprintf(out, ": {\"value\": ");
            json_write_string(out, m->implies[i].value);
            fprintf(out, ", \"applied\": %s}",
                    iosim_config_given(cfg, m->implies[i].key) ? "false"
                                                               : "true");
        }
        fprintf(out, "%s},\n", m->n_implies ? "}" : "");
        /* the capture's own counts: the [reference] block of the text */
        fprintf(out, "  \"reference\": {");
        for (uint32_t r = 0; r < m->n_refs && r < IOSIM_META_REFS_MAX; r++) {
            fprintf(out, "%s", r ? ", " : "");
            json_write_string(out, m->refs[r].name);
            fprintf(out, ": %llu", (unsigned long long)m->refs[r].value);
        }
        fprintf(out, "},\n");
    }
    fprintf(out, "  \"config\": ");
    iosim_config_write(cfg, out, IOSIM_FMT_JSON);
    fprintf(out, ",\n  \"sims\": [");
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "%s\n    {\"label\": ", k ? "," : "");
        json_write_string(out, iosim_sim_label(sims[k]));
        fprintf(out, ",\n     \"config\": {");
        write_sim_config(out, IOSIM_FMT_JSON, sims[k]);
        fprintf(out, "},\n     \"stat\": {");
        for (size_t i = 0; i < iosim_stat_count(); i++)
            fprintf(out, "%s\"%s\": %llu", i ? ", " : "", iosim_stat_name(i),
                    (unsigned long long)iosim_sim_stat(sims[k], i));
        fprintf(out, "},\n     \"derived\": {");
        for (size_t i = 0; i < iosim_derived_count(); i++) {
            double v;
            fprintf(out, "%s\"%s\": ", i ? ", " : "", iosim_derived_name(i));
            if (iosim_sim_derived(sims[k], i, &v))
                fprintf(out, "%.6f", v);
            else
                fprintf(out, "null");
        }
        fprintf(out, "},\n     \"warning\": {");
        for (size_t i = 0; i < iosim_warning_count(); i++)
            fprintf(out, "%s\"%s\": %llu", i ? ", " : "", iosim_warning_name(i),
                    (unsigned long long)iosim_sim_warning(sims[k], i));
        fprintf(out, "},\n     \"summary\": {");
        iosim_summary_t sm;
        iosim_sim_summary(sims[k], &sm);
        for (size_t i = 0; i < N_SUMMARY; i++) {
            fprintf(out, "%s\"%s\": ", i ? ", " : "", summary_fields[i].name);
            if (sm.valid)
                fprintf(out, "%.6f", summary_value(&sm, i));
            else
                fprintf(out, "null");
        }
        fprintf(out, "}}");
    }
    fprintf(out, "\n  ]\n}\n");
}

static void write_csv(FILE *out, const iosim_provenance_t *prov,
                      const iosim_config_t *cfg, const iosim_trace_meta_t *m,
                      iosim_sim_t *const *sims, size_t n)
{
    fprintf(out, "section,label,name,value\n");
    fprintf(out, "provenance,,iosim_version,%s\n", IOSIM_VERSION_STRING);
    if (prov) {
        char bytes[32];
        snprintf(bytes, sizeof bytes, "%llu",
                 (unsigned long long)prov->trace_bytes);
        // clang-format off
        const char *rows[][2] = {
            {"command", prov->command},
            {"trace", prov->trace},
            {"trace_bytes", bytes},
            {"trace_sha256", prov->trace_sha256},
            {"config_file", prov->config_file ? prov->config_file : ""},
            {"config_sha256", prov->config_sha256}};
        // clang-format on
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            fprintf(out, "provenance,,%s,", rows[i][0]);
            csv_write_field(out, rows[i][1]);
            fputc('\n', out);
        }
        if (prov->replay && prov->replay[0]) {
            fprintf(out, "provenance,,replay,");
            csv_write_field(out, prov->replay);
            fputc('\n', out);
        }
    }
    /* config rows: iosim_config_write's CSV is "key,value" lines */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem) {
        iosim_config_write(cfg, mem, IOSIM_FMT_CSV);
        fclose(mem);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            fprintf(out, "config,,%s\n", line);
        free(buf);
    }
    /* the settings the trace implies: applied, or given by the config */
    for (uint32_t i = 0; m && i < m->n_implies; i++) {
        fprintf(out, "implies,%s,%s,",
                iosim_config_given(cfg, m->implies[i].key) ? "given"
                                                           : "applied",
                m->implies[i].key);
        csv_write_field(out, m->implies[i].value);
        fputc('\n', out);
    }
    /* the capture's own counts (trace metadata ref.*) */
    for (uint32_t r = 0; m && r < m->n_refs && r < IOSIM_META_REFS_MAX; r++)
        fprintf(out, "reference,capture,%s,%llu\n", m->refs[r].name,
                (unsigned long long)m->refs[r].value);
    for (size_t k = 0; k < n; k++) {
        const char *l = iosim_sim_label(sims[k]);
        write_sim_config(out, IOSIM_FMT_CSV, sims[k]);
        for (size_t i = 0; i < iosim_stat_count(); i++)
            fprintf(out, "stat,%s,%s,%llu\n", l, iosim_stat_name(i),
                    (unsigned long long)iosim_sim_stat(sims[k], i));
        for (size_t i = 0; i < iosim_derived_count(); i++) {
            double v;
            if (iosim_sim_derived(sims[k], i, &v))
                fprintf(out, "derived,%s,%s,%.6f\n", l, iosim_derived_name(i),
                        v);
            else
                fprintf(out, "derived,%s,%s,\n", l, iosim_derived_name(i));
        }
        for (size_t i = 0; i < iosim_warning_count(); i++)
            fprintf(out, "warning,%s,%s,%llu\n", l, iosim_warning_name(i),
                    (unsigned long long)iosim_sim_warning(sims[k], i));
        iosim_summary_t sm;
        iosim_sim_summary(sims[k], &sm);
        for (size_t i = 0; i < N_SUMMARY; i++) {
            if (sm.valid)
                fprintf(out, "summary,%s,%s,%.6f\n", l, summary_fields[i].name,
                        summary_value(&sm, i));
            else
                fprintf(out, "summary,%s,%s,\n", l, summary_fields[i].name);
        }
    }
}

/* The unit of a metric, read off its name (the names carry it: _ns,
 * _cycles, gbps, per_page., ...); "count" otherwise. */
static const char *unit_of(const char *section, const char *name)
{
    size_t n = strlen(name);
#define ENDS(x) (n >= strlen(x) && !strcmp(name + n - strlen(x), x))
    if (!strncmp(name, "per_page.", 9))
        return "per 4 KB of data";
    if (!strncmp(name, "per_request.", 12))
        return ENDS("_ns")       ? "ns per request"
               : ENDS("_cycles") ? "cycles per request"
                                 : "per request";
    if (ENDS("gbps"))
        return "Gb/s";
    if (ENDS("_rps"))
        return "requests/s";
    if (ENDS("hit_rate") || ENDS("degradation"))
        return "ratio (0..1)";
    if (ENDS("_ns") || strstr(name, "_ns_") || ENDS("_ns_total"))
        return !strcmp(section, "summary") && strncmp(name, "latency", 7)
                   ? "ns per request"
                   : "ns";
    if (ENDS("_cycles"))
        return !strcmp(section, "summary") ? "cycles per request" : "cycles";
    if (ENDS("bytes"))
        return "bytes";
    if (!strcmp(section, "summary") && strcmp(name, "requests") &&
        strcmp(name, "cpus"))
        return "per request";
#undef ENDS
    return "count";
}

void iosim_report_list_metrics(FILE *out)
{
    fprintf(out, "# every metric of a report: section (as CSV's first column), "
                 "name, unit, description\n");
    for (size_t i = 0; i < iosim_stat_count(); i++)
        fprintf(out, "stat\t%s\t%s\t%s\n", iosim_stat_name(i),
                unit_of("stat", iosim_stat_name(i)), iosim_stat_desc(i));
    for (size_t i = 0; i < iosim_derived_count(); i++)
        fprintf(out, "derived\t%s\t%s\t%s\n", iosim_derived_name(i),
                unit_of("derived", iosim_derived_name(i)),
                iosim_derived_desc(i));
    for (size_t i = 0; i < iosim_warning_count(); i++)
        fprintf(out, "warning\t%s\tcount\t%s\n", iosim_warning_name(i),
                iosim_warning_desc(i));
    for (size_t i = 0; i < N_SUMMARY; i++)
        fprintf(out, "summary\t%s\t%s\t%s\n", summary_fields[i].name,
                unit_of("summary", summary_fields[i].name),
                summary_fields[i].desc);
}

void iosim_report_write_prov(FILE *out, iosim_format_t fmt,
                             const iosim_provenance_t *prov,
                             const iosim_config_t *cfg,
                             const iosim_trace_meta_t *meta,
                             iosim_sim_t *const *sims, size_t nsims)
{
    switch (fmt) {
    case IOSIM_FMT_JSON:
        write_json(out, prov, cfg, meta, sims, nsims);
        break;
    case IOSIM_FMT_CSV:
        write_csv(out, prov, cfg, meta, sims, nsims);
        break;
    default:
        write_text(out, prov, cfg, meta, sims, nsims);
        break;
    }
}

void iosim_report_write(FILE *out, iosim_format_t fmt,
                        const iosim_config_t *cfg,
                        const iosim_trace_meta_t *meta,
                        iosim_sim_t *const *sims, size_t nsims)
{
    iosim_report_write_prov(out, fmt, NULL, cfg, meta, sims, nsims);
}
