#!/bin/bash
# config_errors.sh — CLI test of the configuration front end of iosim:
# YAML errors reach stderr as "iosim: FILE:LINE:COL: key: message" with
# exit 2 and no output file; --set overrides appear in the echo;
# --help-config lists every parameter.  Expected positions are found with
# awk in the hand-written files (tests/data/config), not taken from iosim.
# Env: IOSIM, SRC, WORK (see tests/CMakeLists.txt).
. "${SRC:?}/tests/cli/lib/common.sh"
DATA="$SRC/tests/data/config"
TRACE="$SRC/tests/data/trace_small.txt"

# pos FILE NEEDLE N: "line:col" (1-based) of the N-th occurrence of NEEDLE
pos() {
    awk -v needle="$2" -v want="$3" '
        { rest = $0; off = 0
          while ((i = index(rest, needle)) > 0) {
              if (++seen == want) { print NR ":" off + i; exit }
              off += i; rest = substr(rest, i + 1)
          } }' "$1"
}

# expect_error STDERR_LINE ARGS...: exit 2, exactly that stderr, no -o file
expect_error() {
    local want="$1"; shift
    local out="$WORK/report.out"
    rm -f "$out"
    "$IOSIM" "$@" -o "$out" "$WORK/no-trace.txt" </dev/null >"$WORK/stdout" 2>"$WORK/stderr"
    local rc=$?
    [ "$rc" -eq 2 ] || fail "$*: exit $rc, want 2"
    [ "$(cat "$WORK/stderr")" = "$want" ] ||
        fail "$*: stderr '$(cat "$WORK/stderr")', want '$want'"
    [ ! -e "$out" ] || fail "$*: left an output file"
}

# file  needle  occurrence  message after "FILE:L:C: "
while IFS='|' read -r file needle occ msg; do
    path="$DATA/$file"
    expect_error "iosim: $path:$(pos "$path" "$needle" "$occ"): $msg" \
        --config "$path"
done <<'EOF'
unknown_key.yaml|way:|1|vtd.iotlb.way: unknown key (did you mean vtd.iotlb.ways?)
unknown_far.yaml|frobnicate|1|sim.frobnicate: unknown key
wrong_type.yaml|abc|1|vtd.iotlb.sets: expected an unsigned integer, got 'abc'
out_of_range.yaml|0|1|vtd.max_walks: value 0 out of range [1, 1024]
bad_choice.yaml|mru|1|vtd.iotlb.replacement: expected one of lru|plru|fifo|random|flush, got 'mru'
scalar_for_mapping.yaml|64|1|vtd.iotlb: expected a mapping, got a scalar
mapping_for_scalar.yaml|value|1|sim.seed: expected a scalar value, got a mapping
duplicate.yaml|fq_size|2|os.fq_size: duplicate key
rule_pow2.yaml|sets:|1|vtd.iotlb.sets: 3 is not a power of two (the set index is a bit field)
rule_pair.yaml|translation:|1|vtd.translation: first-stage needs vtd.root_mode scalable (PGTT is a PASID-entry field)
rule_group.yaml|ways:|1|vtd.iotlb: sets x ways is 0 (8 x 0) but the cache is enabled
rule_batch.yaml|strict_batch:|1|os.strict_batch: '300' is neither kernel nor a count 1..254
EOF
# a rule broken by a --set, not by the file: no position in the file, the
# message names --set
expect_error "iosim: --set vtd.iotlb.sets: 5 is not a power of two (the set index is a bit field)" \
    --config "$DATA/rule_pow2.yaml" --set vtd.iotlb.sets=5

expect_error "iosim: $WORK/missing.yaml: No such file or directory" \
    --config "$WORK/missing.yaml"
expect_error "iosim: $DATA: is a directory" --config "$DATA"
expect_error "iosim: --set vtd.nope: no such key" --set vtd.nope=1
expect_error "iosim: --set vtd.iotlb.sets: expected an unsigned integer, got 'x'" \
    --set vtd.iotlb.sets=x
expect_error "iosim: --set vtd.iotlb.sets: 6 is not a power of two (the set index is a bit field)" \
    --set vtd.iotlb.sets=6
expect_error "iosim: --set os.policy: unknown policy 'nope' (one of $("$IOSIM" --list | awk '/^[^ ]/ { on = ($1 == "os.policy:"); next } on { printf "%s%s", n++ ? "|" : "", $1 }'))" --set os.policy=nope
# contradictions between the hypervisor mode and the hardware settings
expect_error "iosim: --set vtd.translation: nested needs hv.mode nested (hv.mode none translates with one stage)" \
    --set vtd.root_mode=scalable --set vtd.translation=nested
expect_error "iosim: --set hv.mode: guest-passthrough runs the guest with iommu=pt: os.policy must be passthrough (is strict)" \
    --set hv.mode=guest-passthrough --set os.policy=strict

# --help-config: header, rule, one row per key; configs/vtd.yaml lists every
# key with a value, so its leaf lines give the count independently.
"$IOSIM" --help-config >"$WORK/ref.txt" || fail "--help-config: exit $?"
keys=$(grep -cE '^ *[a-z0-9_]+: *[^ #]' "$SRC/configs/vtd.yaml")
rows=$(grep -c '^| [a-z]' "$WORK/ref.txt")
# the header row "| name | ..." also starts with "| n"
[ "$rows" -eq $((keys + 1)) ] || fail "--help-config: $rows rows, vtd.yaml has $keys keys"
grep -qF '| vtd.iotlb.sets | u32 | 8 |' "$WORK/ref.txt" || fail "--help-config: no vtd.iotlb.sets row"

# --help-config shows under each selector what its choices imply, as
# --list does: every "{...implies: K=V ...}" of --list appears in the
# selector's row after the name, and a choice implying nothing has none
"$IOSIM" --list > "$WORK/list.txt" || fail "--list: exit $?"
python3 - "$IOSIM" "$WORK/list.txt" <<'EOF' || fail "--help-config: implied settings differ from --list"
import re, subprocess, sys
iosim, listing = sys.argv[1], open(sys.argv[2]).read()
section, seen = None, 0
for line in listing.splitlines():
    if not line.startswith(" "):
        section = line.rstrip(":")
        continue
    name = line.split()[0]
    m = re.search(r"implies: ([^;}]*)", line)
    path = "vtd.iotlb.replacement" if section.startswith("vtd.") else section
    ref = subprocess.run([iosim, "--help-config", path], capture_output=True,
                         text=True, check=True).stdout
    row = next(l for l in ref.splitlines() if l.startswith("| %s |" % path))
    cell = row.split(" | ")[3]
    parts, depth, cur = [], 0, ""
    for ch in cell.split(";")[0] + ",":  # ", " between choices, not inside (...)
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    choices = {c.split(" (")[0]: c for c in parts}
    got = choices.get(name)
    assert got is not None, (path, name, cell)
    want = name + (" (implies %s)" % ", ".join(m.group(1).split()) if m else "")
    assert got == want, (path, got, want)
    seen += 1 if m else 0
assert seen >= 3, seen  # none, emulated, nested
EOF

# --set over a config file shows in the echo (text and JSON)
if "$IOSIM" --config "$SRC/configs/vtd.yaml" --set vtd.iotlb.ways=4 \
    --set os.fq_size=0x200 "$TRACE" >"$WORK/run.txt" 2>"$WORK/run.err"; then
    grep -qE '^vtd\.iotlb\.ways = 4 ' "$WORK/run.txt" || fail "echo lacks vtd.iotlb.ways = 4"
    grep -qE '^os\.fq_size = 512 ' "$WORK/run.txt" || fail "echo lacks os.fq_size = 512"
    grep -qE '^vtd\.iotlb\.sets = 8 ' "$WORK/run.txt" || fail "echo lacks vtd.iotlb.sets = 8"
else
    fail "run with configs/vtd.yaml: $(cat "$WORK/run.err")"
fi
if "$IOSIM" --set vtd.iotlb.ways=4 --format json "$TRACE" >"$WORK/run.json" 2>"$WORK/run.err"; then
    opens=$(tr -cd '{' <"$WORK/run.json" | wc -c)
    closes=$(tr -cd '}' <"$WORK/run.json" | wc -c)
    [ "$opens" -eq "$closes" ] || fail "json: $opens '{' vs $closes '}'"
    grep -qE '"ways": 4,' "$WORK/run.json" || fail "json lacks \"ways\": 4"
    if command -v python3 >/dev/null; then
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["config"]; assert c["vtd"]["iotlb"]["ways"] == 4, c["vtd"]["iotlb"]' \
            "$WORK/run.json" || fail "json does not parse or lacks config.vtd.iotlb.ways = 4"
    fi
else
    fail "json run: $(cat "$WORK/run.err")"
fi

finish
