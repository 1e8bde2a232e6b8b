#!/usr/bin/env python3
"""Golden reports: run iosim on every shipped trace under every shipped
config (and the --compare runs of runs.txt), and compare each JSON report,
flattened to one `path<TAB>value` line per value, with the committed one in
tests/golden/reports/.

  golden.py check --iosim BIN [--src DIR] [--group G] [--subset sanitize]
  golden.py bless --iosim BIN [--src DIR] [--group G]

A group is a config's name (every trace under configs/G.yaml) or `compare`.
check exits 1 naming each report that differs and its differing values
(golden -> now); bless rewrites the reports and prints the same diff.
Provenance (paths, hashes, version: exclude.txt) is left out of both sides.
iosim runs in the source dir with relative paths, so a report never holds
this machine's paths.  Standard library only (any python3)."""

import argparse
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, "reports")
HEADER = "# iosim golden report (tests/golden/README.md): "


def read_spec(src):
    """runs.txt: compare runs, skipped combinations, the sanitizer subset."""
    compares, skips, sanitize = [], set(), []
    with open(os.path.join(HERE, "runs.txt")) as f:
        for lineno, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            kind = words[0]
            if kind == "compare" and len(words) >= 4:
                compares.append((words[1], words[2], words[3], words[4:]))
            elif kind == "skip" and len(words) == 3:
                skips.add((words[1], words[2]))
            elif kind == "sanitize-traces" and len(words) >= 2:
                sanitize.extend(words[1:])
            else:
                sys.exit("tests/golden/runs.txt:%d: cannot read '%s'"
                         % (lineno, line.strip()))
    return compares, skips, sanitize


def read_excludes():
    pats = []
    with open(os.path.join(HERE, "exclude.txt")) as f:
        for line in f:
            p = line.split("#", 1)[0].strip()
            if p:
                pats.append(p)
    return pats


def plan(src, group, subset):
    """[(name, argv)] of the runs selected, name = GROUP/REPORT."""
    compares, skips, sanitize = read_spec(src)
    runs = []
    configs = sorted(glob.glob(os.path.join(src, "configs", "*.yaml")))
    traces = sorted(glob.glob(os.path.join(src, "traces", "*.zst")))
    for cpath in configs:
        cfg = os.path.basename(cpath)[:-len(".yaml")]
        if group not in (None, cfg):
            continue
        for tpath in traces:
            trace = os.path.basename(tpath)[:-len(".zst")]
            rc, rt = "configs/%s.yaml" % cfg, "traces/%s.zst" % trace
            if (rc, rt) in skips:
                continue
            if subset == "sanitize" and not any(
                    fnmatch.fnmatch(rt, p) for p in sanitize):
                continue
            runs.append(("%s/%s" % (cfg, trace),
                         ["--config", rc, "--format", "json", rt]))
    if group in (None, "compare"):
        for name, cfg, trace, args in compares:
            runs.append(("compare/" + name,
                         ["--config", cfg, "--format", "json"] + args
                         + [trace]))
    return runs


def flatten(node, path, out):
    """JSON -> [(path, value text)]; a sim is named by its label."""
    if isinstance(node, dict):
        for k, v in node.items():
            flatten(v, path + [k], out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            key = v.get("label") if isinstance(v, dict) else None
            flatten(v, path + [key if key is not None else str(i)], out)
    else:
        out.append(("/".join(path), json.dumps(node)))


def report_lines(iosim, src, argv, excludes):
    """Run iosim; return (lines, error)."""
    p = subprocess.run([iosim] + argv, cwd=src, capture_output=True,
                       text=True)
    if p.returncode != 0:
        return None, "iosim %s: exit %d: %s" % (
            " ".join(argv), p.returncode, p.stderr.strip()[:500])
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        return None, "iosim %s: not JSON: %s" % (" ".join(argv), e)
    flat = []
    flatten(doc, [], flat)
    return [(k, v) for k, v in flat
            if not any(fnmatch.fnmatchcase(k, x) for x in excludes)], None


def read_golden(path, excludes):
    """A stored report, without what exclude.txt now calls provenance."""
    lines = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            k, _, v = line.rstrip("\n").partition("\t")
            if not any(fnmatch.fnmatchcase(k, x) for x in excludes):
                lines.append((k, v))
    return lines


def write_golden(path, argv, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(HEADER + "iosim " + " ".join(argv) + "\n")
        for k, v in lines:
            f.write("%s\t%s\n" % (k, v))
    os.replace(tmp, path)


DECIMALS = re.compile(r"^-?\d+\.(\d+)$")


def same_value(a, b):
    """Equal text, or two decimals within one unit of the last printed
    digit (%.6f rounding of a double computed in another order)."""
    if a == b:
        return True
    ma, mb = DECIMALS.match(a), DECIMALS.match(b)
    if not (ma and mb):
        return False
    places = max(len(ma.group(1)), len(mb.group(1)))
    return abs(float(a) - float(b)) <= 1.01 * 10.0 ** -places


def diff(old, new):
    """[(path, old text, new text)]; absent is '(absent)'."""
    o, n = dict(old), dict(new)
    out = []
    for k, v in new:
        if k not in o:
            out.append((k, "(absent)", v))
        elif not same_value(o[k], v):
            out.append((k, o[k], v))
    for k, v in old:
        if k not in n:
            out.append((k, v, "(absent)"))
    return out


def golden_files(group):
    """Committed reports of a group (all groups when None)."""
    pat = os.path.join(REPORTS, group or "*", "*.txt")
    return {os.path.relpath(p, REPORTS)[:-len(".txt")]
            for p in glob.glob(pat)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["check", "bless"])
    ap.add_argument("--iosim", required=True, help="the iosim program")
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(HERE)),
                    help="source dir (default: this file's ../..)")
    ap.add_argument("--group", help="one config name, or compare")
    ap.add_argument("--subset", choices=["sanitize"],
                    help="only runs.txt's sanitize-traces (slow builds)")
    ap.add_argument("--max-lines", type=int, default=25,
                    help="differing values shown per report (check)")
    a = ap.parse_args()
    iosim = os.path.abspath(a.iosim)
    excludes = read_excludes()
    runs = plan(a.src, a.group, a.subset)
    bless = a.action == "bless"
    failed = changed = 0
    for name, argv in runs:
        path = os.path.join(REPORTS, name + ".txt")
        new, err = report_lines(iosim, a.src, argv, excludes)
        if err:
            print("golden: %s: %s" % (name, err))
            failed += 1
            continue
        old = read_golden(path, excludes) if os.path.exists(path) else None
        if old is None:
            if bless:
                print("golden: %s: new report (%d values)" % (name, len(new)))
                write_golden(path, argv, new)
            else:
                print("golden: %s: no golden report: a new trace, config or "
                      "compare run? run scripts/bless and commit "
                      "tests/golden/reports/%s.txt" % (name, name))
            changed += 1
            continue
        d = diff(old, new)
        if not d:
            if bless and old != new:
                write_golden(path, argv, new)
            continue
        changed += 1
        head = "golden: %s (iosim %s): %d value%s %s (golden -> now)" % (
            name, " ".join(argv), len(d), "" if len(d) == 1 else "s",
            "changed" if bless else "differ")
        print(head)
        shown = d if bless else d[:a.max_lines]
        for k, o, n in shown:
            print("  %s: %s -> %s" % (k, o, n))
        if len(shown) < len(d):
            print("  ... %d more" % (len(d) - len(shown)))
        if bless:
            write_golden(path, argv, new)
    if a.subset is None:
        wanted = {n for n, _ in runs}
        for stale in sorted(golden_files(a.group) - wanted):
            changed += 1
            if bless:
                os.remove(os.path.join(REPORTS, stale + ".txt"))
                print("golden: %s: removed (its trace, config or compare "
                      "run is gone)" % stale)
            else:
                print("golden: %s: golden report without a run (trace, "
                      "config or compare run gone?): run scripts/bless"
                      % stale)
    n = len(runs)
    if bless:
        print("golden: %d reports, %d changed, %d failed to run"
              % (n, changed, failed))
        return 1 if failed else 0
    if failed or changed:
        print("golden: %d of %d reports differ or fail.  Golden reports "
              "detect change, they do not prove correctness: if the change "
              "is intended, run scripts/bless and commit tests/golden/ "
              "saying why" % (failed + changed, n))
        return 1
    print("golden: %d reports identical" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
