#!/usr/bin/python3
"""plot_compare.py — a picture of an `iosim --format csv` report.

Usage: iosim ... --compare strict,lazy,passthrough --format csv > run.csv
       scripts/plot_compare.py run.csv -o run.png [--title TEXT] [--dump]

Left: CPU cycles per request by cause (every summary field named *_cycles
but iommu_cycles, their sum: the causes of sim/include/iosim_costs.h), one
stacked bar per simulated configuration.
Right: IOMMU memory reads per 4 KB of data and the estimated throughput
degradation against passthrough.  Uses Debian's python3-matplotlib (run
with /usr/bin/python3); reads only the CSV, so any saved report can be
re-plotted.  --dump prints the plotted values on stdout as CSV (panel,
bar, series, value: the cycles of each cause drawn, and each bar's loss in
percent and reads per 4 KB).  Exit 2 with one line on bad input.
"""
import argparse
import csv
import os
import sys


def causes(summary, labels):
    """The cost causes the report has, in its order: (field, legend)."""
    out = []
    for name in summary[labels[0]]:
        if name.endswith("_cycles") and name != "iommu_cycles":
            out.append((name, name[:-len("_cycles")].replace("_", " ")))
    return out


def die(msg):
    print("plot_compare: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    labels, summary = [], {}
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    if not rows or rows[0] != ["section", "label", "name", "value"]:
        die("%s:1: not an iosim CSV report (run iosim --format csv)" % path)
    for no, row in enumerate(rows[1:], 2):
        if len(row) != 4:
            die("%s:%d: expected 4 columns" % (path, no))
        sec, label, name, value = row
        if sec != "summary":
            continue
        if label not in summary:
            labels.append(label)
            summary[label] = {}
        summary[label][name] = float(value) if value else None
    if not labels:
        die("%s: no summary rows" % path)
    return labels, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default=None)
    ap.add_argument("--dump", action="store_true",
                    help="print the plotted values (CSV) on stdout")
    a = ap.parse_args()
    labels, s = load(a.csv)
    stacks = []  # (legend, values per label): the causes drawn
    for key, name in causes(s, labels):
        vals = [(s[l].get(key) or 0.0) for l in labels]
        if any(vals):
            stacks.append((name, vals))
    reads = [(s[l].get("mem_reads_per_4k") or 0.0) for l in labels]
    deg = [100.0 * (s[l].get("degradation") or 0.0) for l in labels]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("python3-matplotlib is missing (apt-get install python3-matplotlib)")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = range(len(labels))
    bottom = [0.0] * len(labels)
    for name, vals in stacks:
        ax1.bar(x, vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax1.set_xticks(list(x))
    ax1.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax1.set_ylabel("CPU cycles per request")
    ax1.set_title("IOMMU CPU cost by cause")
    ax1.legend(fontsize=8)
    ax2.bar(x, deg, color="tab:red", alpha=0.7)
    ax2.set_ylabel("throughput loss vs passthrough (%)")
    ax2.set_xticks(list(x))
    ax2.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax2.set_ylim(0, 100)
    for i, (d, r) in enumerate(zip(deg, reads)):
        ax2.text(i, d + 2, "%.0f%%\n%.2f rd/4K" % (d, r), ha="center",
                 fontsize=7)
    ax2.set_title("degradation (label: IOMMU reads per 4 KB)")
    fig.suptitle(a.title or os.path.basename(a.csv))
    fig.tight_layout()
    tmp = a.output + ".tmp.png"
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, a.output)
    except OSError as e:
        die("%s: %s" % (a.output, e.strerror))
    if a.dump:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["panel", "bar", "series", "value"])
        for name, vals in stacks:
            for l, v in zip(labels, vals):
                w.writerow(["cycles", l, name, "%.12g" % v])
        for l, d, r in zip(labels, deg, reads):
            w.writerow(["loss", l, "loss %", "%.12g" % d])
            w.writerow(["loss", l, "reads per 4K", "%.12g" % r])


if __name__ == "__main__":
    main()
