#!/usr/bin/python3
"""plot_validation.py — published vs simulated bars, one PNG per family.

Concepts: reads the JSON list scripts/validate writes (id, family, name,
  published, iosim, status) and writes docs/validation/<family>.png; prints
  the paths it wrote, one per line.
Assumptions: Debian python3-matplotlib (Agg backend, no display).
Not modeled: error bars (the tolerances are in VALIDATION.md).
usage: plot_validation.py DATA.json OUTDIR
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print("usage: plot_validation.py DATA.json OUTDIR", file=sys.stderr)
        sys.exit(2)
    rows = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    fams = {}
    for r in rows:
        if r["iosim"] is not None:
            fams.setdefault(r["family"], []).append(r)
    written = []
    for fam, rs in sorted(fams.items()):
        fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rs) + 2), 4))
        x = range(len(rs))
        w = 0.38
        # ground-truth cases compare with a real system's own count
        truth = all(r["status"].startswith("ground truth") for r in rs)
        ax.bar([i - w / 2 for i in x], [r["published"] for r in rs], w,
               label="real system (QEMU log)" if truth else "published",
               color="#777777")
        ax.bar([i + w / 2 for i in x], [r["iosim"] for r in rs], w,
               label="iosim", color="#2a6fbb")
        ax.set_xticks(list(x))
        ax.set_xticklabels(["%s\n%s" % (r["id"], r["status"]) for r in rs],
                           rotation=30, ha="right", fontsize=7)
        ax.set_title(("ground truth: " if truth else "validation: ") + fam)
        ax.legend()
        fig.tight_layout()
        path = os.path.join(out, fam + ".png")
        tmp = path + ".tmp.png"
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        os.rename(tmp, path)
        written.append(path)
    print("\n".join(written))


if __name__ == "__main__":
    main()
