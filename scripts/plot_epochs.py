#!/usr/bin/python3
"""plot_epochs.py — counters over trace time from `iosim --epoch`.

Usage: iosim ... --compare strict,lazy --epoch 10ms --epoch-out ep.csv TRACE
       scripts/plot_epochs.py ep.csv -o ep.png [--metric NAME[/NAME]]...
                              [--title TEXT] [--dump]

One panel per metric, one line per simulated configuration, x = the
epoch's start in ms of trace time.  A metric is a counter of the epoch
(`iq.submits`) or a ratio of two (`iotlb.misses/dma.pages_4k`; an epoch
whose denominator is 0 leaves a gap).  Default: IOTLB misses and IOMMU
memory reads per 4 KB page, IOMMU CPU cycles and invalidation
submissions per epoch.  Counter names: `iosim --format json` or the CSV
header.  --dump prints the plotted points on stdout as CSV (metric,
label, x in ms, y; nan for a gap).  Uses Debian's python3-matplotlib (run
with /usr/bin/python3).  Exit 2 with one line on bad input, leaving no
output file.
"""
import argparse
import csv
import sys

DEFAULT = ["iotlb.misses/dma.pages_4k", "walk.mem_reads/dma.pages_4k",
           "cpu.iommu_cycles", "iq.submits"]
FIXED = ["label", "epoch", "t_start_ns", "t_end_ns"]


def die(msg):
    print("plot_epochs: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    """{label: {column: [values in epoch order]}}, labels in file order."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    if not rows or rows[0][:4] != FIXED:
        die("%s:1: not an iosim epoch CSV (run iosim --epoch ... "
            "--epoch-out FILE)" % path)
    head = rows[0]
    series, labels = {}, []
    for no, row in enumerate(rows[1:], 2):
        if len(row) != len(head):
            die("%s:%d: expected %d columns, got %d"
                % (path, no, len(head), len(row)))
        label = row[0]
        if label not in series:
            labels.append(label)
            series[label] = {h: [] for h in head[1:]}
        for h, v in zip(head[1:], row[1:]):
            try:
                series[label][h].append(int(v))
            except ValueError:
                die("%s:%d: %s: '%s' is not a count" % (path, no, h, v))
    if not labels:
        die("%s: no epoch rows" % path)
    return head, labels, series


def values(s, metric):
    num, _, den = metric.partition("/")
    if not den:
        return [float(x) for x in s[num]]
    return [n / d if d else float("nan") for n, d in zip(s[num], s[den])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--metric", action="append", default=None,
                    help="NAME or NAME/NAME (repeatable)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--dump", action="store_true",
                    help="print the plotted points (CSV) on stdout")
    a = ap.parse_args()
    head, labels, series = load(a.csv)
    metrics = a.metric or DEFAULT
    for m in metrics:
        for name in m.split("/"):
            if name not in head[len(FIXED):]:
                die("--metric %s: no counter '%s' in %s" % (m, name, a.csv))
        if m.count("/") > 1:
            die("--metric %s: at most one '/'" % m)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("needs Debian's python3-matplotlib (run with /usr/bin/python3)")
    fig, axes = plt.subplots(len(metrics), 1, sharex=True, squeeze=False,
                             figsize=(9, 2.2 * len(metrics) + 0.6))
    points = []  # (metric, label, x, y)
    for ax, m in zip(axes[:, 0], metrics):
        for label in labels:
            s = series[label]
            xs, ys = [t / 1e6 for t in s["t_start_ns"]], values(s, m)
            points += [(m, label, x, y) for x, y in zip(xs, ys)]
            ax.plot(xs, ys, label=label, linewidth=1, drawstyle="steps-post")
        ax.set_ylabel(m.replace("/", "\nper "), fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel("trace time (ms, epoch start)")
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    try:
        fig.savefig(a.output, format="png", dpi=110)
    except OSError as e:
        die("%s: %s" % (a.output, e.strerror))
    if a.dump:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["metric", "label", "x", "y"])
        for m, label, x, y in points:
            w.writerow([m, label, "%.12g" % x, "%.12g" % y])


if __name__ == "__main__":
    main()
