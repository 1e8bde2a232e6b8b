#!/usr/bin/python3
"""plot_sweep.py — a metric against a swept parameter, from iosim's CSV.

Usage: scripts/plot_sweep.py TABLE.csv --x KEY --y METRIC -o out.png
           [--lines COLUMN] [--facet COLUMN] [--x-regex REGEX] [--logx]
           [--logy] [--title TEXT] [--dump]

One line per value of --lines (default: the trace when the table has
several, else the variant), one panel per value of --facet, the points
sorted by x.  Reads either table iosim writes:
  - the wide table of `iosim sweep EXPERIMENT.yaml` (one row per trace
    and configuration, the swept keys and metrics as columns, provenance
    columns such as trace and command), or any CSV shaped like it;
  - the long report of `iosim --sweep KEY=V1,V2 [--compare ...] --format
    csv` (section,label,name,value rows): each label, "ITEM KEY=V ...",
    becomes a row with its KEY columns, variant = ITEM, and every stat,
    derived and summary row a metric column.
--x-regex takes x from a text column by the regex's first group, e.g.
`--x trace --x-regex 'tenants-(\\d+)'` for traces named by their tenant
count.  With many lines (200 configurations in 20 lines) the colours come
from one colormap in order, markers are dropped past 12 points, and the
legend goes beside the panels in columns.  The title says what was run:
the metric, the x key, how many configurations and traces, the file, and
the table's command when it has one.  --dump prints the plotted points
(panel, line, x, y) as CSV on stdout instead of nothing (tests read it).
Uses Debian's python3-matplotlib (run with /usr/bin/python3).  Exit 2
with one line on bad input.
"""
import argparse
import csv
import math
import os
import re
import sys

PROG = "plot_sweep"
KEY_TOKEN = re.compile(r"^([a-z][a-z0-9_.]*)=(.*)$")


def die(msg):
    print(PROG + ": " + msg, file=sys.stderr)
    sys.exit(2)


def number(text):
    """A float, or None for an empty / null / non-numeric cell."""
    if text is None:
        return None
    t = text.strip()
    if t in ("", "null", "nan", "NaN"):
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def from_long(rows, path):
    """The long report's rows as wide rows (dicts), one per label."""
    by_label, order = {}, []
    meta = {}
    for i, r in enumerate(rows[1:], start=2):
        if len(r) < 4:
            die("%s:%d: expected section,label,name,value" % (path, i))
        section, label, name, value = r[0], r[1], r[2], r[3]
        if not label:
            meta[name] = value  # provenance / config echo rows of the run
            continue
        if section not in ("stat", "derived", "summary"):
            continue
        if label not in by_label:
            row = {"label": label}
            item = []
            for tok in label.split(" "):
                m = KEY_TOKEN.match(tok)
                if m:
                    row[m.group(1)] = m.group(2)
                else:
                    item.append(tok)
            row["variant"] = " ".join(item)
            by_label[label] = row
            order.append(label)
        by_label[label][name] = value
    trace = meta.get("trace") or meta.get("trace.path") or os.path.basename(path)
    out = []
    for label in order:
        row = by_label[label]
        row.setdefault("trace", trace)
        if "command" in meta:
            row.setdefault("command", meta["command"])
        out.append(row)
    return out


def load(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    except (UnicodeDecodeError, csv.Error) as e:
        die("%s: not a CSV file (%s)" % (path, e))
    if not rows or not rows[0]:
        die("%s: empty" % path)
    if rows[0][:4] == ["section", "label", "name", "value"]:
        return from_long(rows, path), "iosim --sweep report"
    head = rows[0]
    out = []
    for i, r in enumerate(rows[1:], start=2):
        if not r:
            continue
        if len(r) != len(head):
            die("%s:%d: %d fields, the header has %d" % (path, i, len(r), len(head)))
        out.append(dict(zip(head, r)))
    return out, "table"


def x_value(row, key, rx, path):
    text = row.get(key)
    if text is None:
        return None
    if rx:
        m = rx.search(text)
        if not m:
            return None
        text = m.group(1) if m.groups() else m.group(0)
    return number(text)


def main():
    ap = argparse.ArgumentParser(
        description="plot a metric against a swept parameter")
    ap.add_argument("table")
    ap.add_argument("--x", required=True, help="swept key (a column)")
    ap.add_argument("--y", required=True, help="metric (a column)")
    ap.add_argument("--lines", default=None,
                    help="column: one line per value (default: trace if "
                         "several, else variant or label)")
    ap.add_argument("--facet", default=None, help="column: one panel per value")
    ap.add_argument("--x-regex", default=None,
                    help="take x from the column's text by this regex")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--logy", action="store_true")
    ap.add_argument("--title", default=None)
    ap.add_argument("-o", "--output", default=None)
    ap.add_argument("--dump", action="store_true",
                    help="print the plotted points as CSV")
    a = ap.parse_args()
    if not a.output and not a.dump:
        die("give -o OUT.png (or --dump)")
    rows, kind = load(a.table)
    if not rows:
        die("%s: no rows" % a.table)
    cols = set().union(*(r.keys() for r in rows))
    for opt, key in (("--x", a.x), ("--y", a.y), ("--lines", a.lines),
                     ("--facet", a.facet)):
        if key and key not in cols:
            near = sorted(c for c in cols if key.split(".")[-1] in c)[:5]
            die("%s %s: no such column in %s%s" % (
                opt, key, a.table,
                " (columns with that name: %s)" % ", ".join(near) if near else ""))
    rx = None
    if a.x_regex:
        try:
            rx = re.compile(a.x_regex)
        except re.error as e:
            die("--x-regex %s: %s" % (a.x_regex, e))
    lines = a.lines
    if not lines:
        traces = {r.get("trace") for r in rows}
        if len(traces) > 1 and a.x != "trace":
            lines = "trace"
        elif "variant" in cols:
            lines = "variant"
        else:
            lines = "label" if "label" in cols and a.x not in ("label",) else None

    ntraces = len({r.get("trace") for r in rows})
    split_trace = (ntraces > 1 and "trace" not in (lines, a.facet, a.x))
    # panel -> line -> [(x, y)]
    data, skipped = {}, 0
    for r in rows:
        x = x_value(r, a.x, rx, a.table)
        y = number(r.get(a.y))
        if x is None or y is None:
            skipped += 1
            continue
        panel = r.get(a.facet, "") if a.facet else ""
        line = r.get(lines, "") if lines else a.y
        if lines == "trace":
            line = os.path.basename(line)
        elif split_trace:
            # several traces, neither the lines nor the panels: one line
            # per (value, trace), styled per trace
            line = "%s | %s" % (line, os.path.basename(r.get("trace", "")))
        data.setdefault(panel, {}).setdefault(line, []).append((x, y))
    if not data:
        die("%s: no row has a number in both %s and %s" % (a.table, a.x, a.y))

    def order(keys):
        """Numeric order of the values (before " | trace") when every one
        is a number, else as text."""
        def head(k):
            return k.rsplit(" | ", 1)[0] if split_trace else k
        if all(number(head(k)) is not None for k in keys):
            return sorted(keys, key=lambda k: (number(head(k)), k))
        return sorted(keys)

    panels = order(list(data))
    if a.dump:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["panel", "line", "x", "y"])
        for p in panels:
            for ln in order(list(data[p])):
                for x, y in sorted(data[p][ln]):
                    w.writerow([p, ln, "%.12g" % x, "%.12g" % y])
        if not a.output:
            return

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_lines = order(sorted({ln for p in data for ln in data[p]}))
    # colour by the --lines value, dash by trace when lines are split so
    base = {ln: ln.rsplit(" | ", 1)[0] if split_trace else ln for ln in all_lines}
    dashes = ["-", "--", ":", "-."]
    trace_style = {}
    for ln in all_lines:
        if split_trace:
            t = ln.rsplit(" | ", 1)[1]
            trace_style.setdefault(t, dashes[len(trace_style) % len(dashes)])
    shared = sum(len(v) - len({q[0] for q in v})
                 for p in data.values() for v in p.values())
    n = len(panels)
    ncol = min(n, 4)
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol + 2.5, 3.4 * nrow + 1.2),
                             sharex=True, sharey=True, squeeze=False)
    bases = order(sorted(set(base.values())))
    cmap = plt.get_cmap("tab10" if len(bases) <= 10 else "viridis")
    bcol = {b: cmap(i if len(bases) <= 10 else i / max(1, len(bases) - 1))
            for i, b in enumerate(bases)}
    colour = {ln: bcol[base[ln]] for ln in all_lines}
    for i, p in enumerate(panels):
        ax = axes[i // ncol][i % ncol]
        for ln in order(list(data[p])):
            pts = sorted(data[p][ln])
            xs, ys = [q[0] for q in pts], [q[1] for q in pts]
            style = trace_style[ln.rsplit(" | ", 1)[1]] if split_trace else "-"
            ax.plot(xs, ys, color=colour[ln], linewidth=1.4, linestyle=style,
                    marker="o" if len(pts) <= 12 else None, markersize=3.5,
                    label=ln)
        if a.facet:
            ax.set_title("%s = %s" % (a.facet, p), fontsize=9)
        if a.logx:
            ax.set_xscale("log", base=2)
        if a.logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
    for j in range(n, nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(a.x + (" (from %s)" % a.x_regex if a.x_regex else ""), fontsize=9)
    for row_axes in axes:
        row_axes[0].set_ylabel(a.y, fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    seen = set(labels)
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in seen:
                handles.append(h)
                labels.append(l)
                seen.add(l)
    lcols = 1 + len(labels) // 25
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
               fontsize=7 if len(labels) > 12 else 8, ncol=lcols,
               title=(lines or "") + (" | trace" if split_trace else ""),
               title_fontsize=8, frameon=False)
    nconf = sum(len(v) for p in data.values() for v in p.values())
    traces = sorted({os.path.basename(r.get("trace", "")) for r in rows} - {""})
    title = a.title or "%s vs %s: %d configurations%s (%s)" % (
        a.y, a.x, nconf,
        " over %d traces" % len(traces) if len(traces) > 1 else
        (" of %s" % traces[0] if traces else ""), os.path.basename(a.table))
    cmd = rows[0].get("command")
    if cmd and not a.title:
        title += "\n" + (cmd if len(cmd) <= 110 else cmd[:107] + "...")
    if shared:
        title += ("\n(%d points share their x with another of their line: "
                  "another key varies too; give it as --lines or --facet)" % shared)
    if skipped:
        title += "\n(%d rows without a number in %s or %s left out)" % (skipped, a.x, a.y)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93 if "\n" in title else 0.96))
    try:
        fig.savefig(a.output, dpi=110, bbox_inches="tight")
    except OSError as e:
        die("%s: %s" % (a.output, e.strerror))


if __name__ == "__main__":
    main()
