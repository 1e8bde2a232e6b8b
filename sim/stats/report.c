/* report.c — the output of a run: resolved config, trace metadata and
 * every sim's counters and derived metrics, as text, JSON or CSV.
 * Concepts: one walk over the X-macro tables per format; numbers are
 * printed with fixed formats so identical inputs give identical bytes;
 * a derived metric with a zero denominator prints null (JSON/CSV) or
 * "null" (text), never NaN. */
#include <stdlib.h>
#include <string.h>

#include "iosim.h"

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void write_text(FILE *out, const iosim_config_t *cfg,
                       const iosim_trace_meta_t *m, iosim_sim_t *const *sims,
                       size_t n)
{
    fprintf(out, "# iosim %s\n", IOSIM_VERSION_STRING);
    if (m)
        fprintf(out,
                "# trace: source=%s kernel=%s policy=%s workload=%s cpus=%u "
                "has_dma=%u\n",
                m->source, m->kernel, m->policy, m->workload, m->cpus,
                m->has_dma);
    fprintf(out, "[config]\n");
    iosim_config_write(cfg, out, IOSIM_FMT_TEXT);
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "[sim %s]\n", iosim_sim_label(sims[k]));
        for (size_t i = 0; i < iosim_stat_count(); i++)
            fprintf(out, "%s %llu # %s\n", iosim_stat_name(i),
                    (unsigned long long)iosim_sim_stat(sims[k], i),
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
}

static void write_json(FILE *out, const iosim_config_t *cfg,
                       const iosim_trace_meta_t *m, iosim_sim_t *const *sims,
                       size_t n)
{
    fprintf(out, "{\n  \"iosim_version\": \"%s\",\n", IOSIM_VERSION_STRING);
    if (m) {
        fprintf(out, "  \"trace\": {\"source\": ");
        json_str(out, m->source);
        fprintf(out, ", \"kernel\": ");
        json_str(out, m->kernel);
        fprintf(out, ", \"policy\": ");
        json_str(out, m->policy);
        fprintf(out, ", \"workload\": ");
        json_str(out, m->workload);
        fprintf(out, ", \"cpus\": %u, \"has_dma\": %u},\n", m->cpus,
                m->has_dma);
    }
    fprintf(out, "  \"config\": ");
    iosim_config_write(cfg, out, IOSIM_FMT_JSON);
    fprintf(out, ",\n  \"sims\": [");
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "%s\n    {\"label\": ", k ? "," : "");
        json_str(out, iosim_sim_label(sims[k]));
        fprintf(out, ",\n     \"stats\": {");
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
        fprintf(out, "}}");
    }
    fprintf(out, "\n  ]\n}\n");
}

static void write_csv(FILE *out, const iosim_config_t *cfg,
                      const iosim_trace_meta_t *m, iosim_sim_t *const *sims,
                      size_t n)
{
    (void)m;
    fprintf(out, "section,label,name,value\n");
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
    for (size_t k = 0; k < n; k++) {
        const char *l = iosim_sim_label(sims[k]);
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
    }
}

void iosim_report_write(FILE *out, iosim_format_t fmt,
                        const iosim_config_t *cfg,
                        const iosim_trace_meta_t *meta,
                        iosim_sim_t *const *sims, size_t nsims)
{
    switch (fmt) {
    case IOSIM_FMT_JSON:
        write_json(out, cfg, meta, sims, nsims);
        break;
    case IOSIM_FMT_CSV:
        write_csv(out, cfg, meta, sims, nsims);
        break;
    default:
        write_text(out, cfg, meta, sims, nsims);
        break;
    }
}
