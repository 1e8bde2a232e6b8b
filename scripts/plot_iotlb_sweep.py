#!/usr/bin/python3
"""plot_iotlb_sweep.py — IOTLB misses per request against IOTLB size.

Usage: scripts/iotlb-sweep TRACE... > sweep.csv
       scripts/plot_iotlb_sweep.py sweep.csv -o sweep.png [--title TEXT] [--dump]

One line per (trace, device model), x = IOTLB entries (log scale),
y = IOTLB misses per application request.  --dump prints the plotted
points on stdout as CSV (trace, model, entries, misses per request).  Uses
Debian's python3-matplotlib (run with /usr/bin/python3).  Exit 2 with one
line on bad input, leaving no output file.
"""
import argparse
import csv
import os
import sys

HEADER = ["trace", "model", "entries", "lookups", "misses", "requests",
          "misses_per_request"]


def die(msg):
    print("plot_iotlb_sweep: " + msg, file=sys.stderr)
    sys.exit(2)


def load(path):
    """{(trace, model): [(entries, misses_per_4k)]} in file order."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    if not rows or rows[0] != HEADER:
        die("%s:1: not an iotlb-sweep CSV (header %s)" % (path, ",".join(HEADER)))
    lines = {}
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(HEADER):
            die("%s:%d: %d fields, expected %d" % (path, n, len(row), len(HEADER)))
        try:
            x, y = int(row[2]), float(row[6])
        except ValueError:
            die("%s:%d: entries or misses_per_request is not a number" % (path, n))
        lines.setdefault((row[0], row[1]), []).append((x, y))
    if not lines:
        die("%s: no rows" % path)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="IOTLB size sweep")
    ap.add_argument("--dump", action="store_true",
                    help="print the plotted points (CSV) on stdout")
    a = ap.parse_args()
    lines = load(a.csv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("matplotlib missing: apt-get install python3-matplotlib, run "
            "with /usr/bin/python3")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    # one colour per trace, one line style per device model
    traces = list(dict.fromkeys(t for t, _ in lines))
    models = list(dict.fromkeys(m for _, m in lines))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    for (trace, model), pts in lines.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                ms=3, label="%s (%s)" % (trace, model),
                color=colours[traces.index(trace) % len(colours)],
                linestyle=styles[models.index(model) % len(styles)])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("IOTLB entries (fully associative, LRU)")
    ax.set_ylabel("IOTLB misses per request")
    ax.set_title(a.title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = a.output + ".tmp.%d" % os.getpid()
    try:
        fig.savefig(tmp, format=os.path.splitext(a.output)[1][1:] or "png")
        os.replace(tmp, a.output)
    except (OSError, ValueError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        die("%s: %s" % (a.output, e))
    if a.dump:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["trace", "model", "entries", "misses_per_request"])
        for (trace, model), pts in lines.items():
            for x, y in pts:
                w.writerow([trace, model, x, "%.12g" % y])


if __name__ == "__main__":
    main()
