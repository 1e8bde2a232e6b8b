#!/usr/bin/env bash
# iosim sweep EXPERIMENT.yaml: every (trace, configuration) row must hold
# what a separate single run of that configuration reports (--set, and
# --compare for a variant's item), the provenance must match sha256sum and
# stat, the configuration equal to the base has its row, --jobs does not
# change a byte (nor a stale file of a shard's number), JSON lines carry the same typed values (pandas, when
# installed, loads both with one call), and a bad file is one line
# file:line:col, exit 2, no table.
. "${SRC:?}/tests/cli/lib/common.sh"
mkdir -p "$WORK/exp"
C=$SRC/configs/vtd.yaml
"$IOSIM_TRACE" gen random --window 1M --size 4K --dir write --count 3000 \
    --page-size 4K -o "$WORK/exp/a.zst" || fail "gen a"
"$IOSIM_TRACE" gen random --window 256K --size 4K --dir read --count 2000 \
    --page-size 4K -o "$WORK/exp/b.zst" || fail "gen b"
cp "$C" "$WORK/base.yaml"
# paths relative to the sweep file's directory; vtd.yaml's ways are 8, so
# the ways=8 points equal the base in everything the grid sets
cat > "$WORK/exp/exp.yaml" <<'YAML'
traces: ["*.zst"]
config: ../base.yaml
set: {sim.window_only: false}
variants:
  - strict
  - {name: cm, item: lazy@emulated}
grid:
  - product:
      vtd.iotlb.ways: [1, 8]
  - zip:
      vtd.mem_ns: {from: 100, to: 200, step: 50}
      vtd.llc_ns: [20, 25, 30]
metrics: ["iotlb.*", "per_page.*", throughput_rps, input.stray_unmaps]
shard_size: 4
YAML
cd "$WORK/exp" || exit 1
"$IOSIM" sweep exp.yaml -o r.csv --no-progress 2> e.txt || fail "sweep: $(cat e.txt)"
# 2 traces x 2 variants x 2 ways x 3 (mem, llc) = 24 rows + header
[ "$(wc -l < r.csv)" -eq 25 ] || fail "want 24 rows, got $(($(wc -l < r.csv) - 1))"
col() { # NAME: the column number of NAME in r.csv's header
    head -n 1 r.csv | tr ',' '\n' | grep -nx -- "$1" | cut -d: -f1
}
for c in trace trace_sha256 trace_bytes config_sha256 sweep_sha256 label \
         variant os.policy hv.mode vtd.iotlb.ways vtd.mem_ns vtd.llc_ns \
         iotlb.misses throughput_rps vtd.caching_mode sim.window_only; do
    [ -n "$(col "$c")" ] || fail "no column $c"
done
# provenance: as sha256sum and stat see the files
for t in a.zst b.zst; do
    h=$(sha256sum "$t" | cut -d' ' -f1)
    n=$(stat -c %s "$t")
    rows=$(awk -F, -v t="$t" -v h="$h" -v n="$n" -v ct="$(col trace)" \
        -v ch="$(col trace_sha256)" -v cb="$(col trace_bytes)" \
        '$ct==t && $ch==h && $cb==n' r.csv | wc -l)
    [ "$rows" -eq 12 ] || fail "$t: $rows rows with its sha256 and size, want 12"
done
[ "$(awk -F, -v c="$(col config_sha256)" 'NR>1 {print $c}' r.csv | sort -u)" = \
  "$(sha256sum ../base.yaml | cut -d' ' -f1)" ] || fail "config_sha256 is not the config file's"
[ "$(awk -F, -v c="$(col sweep_sha256)" 'NR>1 {print $c}' r.csv | sort -u)" = \
  "$(sha256sum exp.yaml | cut -d' ' -f1)" ] || fail "sweep_sha256 is not the sweep file's"
# the range {100..200 step 50} zipped with the llc list, in order
[ "$(awk -F, -v m="$(col vtd.mem_ns)" -v l="$(col vtd.llc_ns)" 'NR>1 && NR<5 {printf "%s/%s ", $m, $l}' r.csv)" = \
  "100/20 150/25 200/30 " ] || fail "range x zip: $(awk -F, -v m="$(col vtd.mem_ns)" 'NR>1 && NR<5 {print $m}' r.csv | tr '\n' ' ')"
# every row equals a single run of its configuration (a separate replay)
metric() { # CSV ROWNAME: value of a stat/derived/summary row of a report
    awk -F, -v n="$2" '($1=="stat"||$1=="derived"||$1=="summary") && $3==n {print $4; exit}' "$1"
}
checked=0
while IFS=, read -r trace variant ways mem llc misses tput pp; do
    item=strict; [ "$variant" = cm ] && item=lazy@emulated
    "$IOSIM" --config ../base.yaml --set sim.window_only=false \
        --set vtd.iotlb.ways="$ways" --set vtd.mem_ns="$mem" \
        --set vtd.llc_ns="$llc" --compare "$item" --format csv --no-progress \
        "$trace" > single.csv 2>> e.txt || fail "single run $trace $variant"
    [ "$(metric single.csv iotlb.misses)" = "$misses" ] ||
        fail "$trace $variant ways=$ways mem=$mem: iotlb.misses $misses, single run $(metric single.csv iotlb.misses)"
    [ "$(metric single.csv throughput_rps)" = "$tput" ] ||
        fail "$trace $variant ways=$ways mem=$mem: throughput_rps $tput, single run $(metric single.csv throughput_rps)"
    [ "$(metric single.csv per_page.iotlb_misses)" = "$pp" ] ||
        fail "$trace $variant: per_page.iotlb_misses '$pp', single run '$(metric single.csv per_page.iotlb_misses)'"
    checked=$((checked + 1))
done < <(awk -F, -v OFS=, -v a="$(col trace)" -v b="$(col variant)" \
    -v c="$(col vtd.iotlb.ways)" -v d="$(col vtd.mem_ns)" -v e="$(col vtd.llc_ns)" \
    -v f="$(col iotlb.misses)" -v g="$(col throughput_rps)" \
    -v h="$(col per_page.iotlb_misses)" 'NR>1 {print $a,$b,$c,$d,$e,$f,$g,$h}' r.csv)
[ "$checked" -eq 24 ] || fail "checked $checked rows against single runs, want 24"
# ways 1 thrashes the 1 MB window of a.zst, 8 x sets holds more of it
m1=$(awk -F, -v t="$(col trace)" -v v="$(col variant)" -v w="$(col vtd.iotlb.ways)" -v m="$(col iotlb.misses)" \
    '$t=="a.zst" && $v=="strict" && $w==1 {print $m; exit}' r.csv)
[ -n "$m1" ] || fail "no a.zst strict ways=1 row"
# the full effective configuration: @emulated turns caching mode on (hv.h)
[ "$(awk -F, -v v="$(col variant)" -v c="$(col vtd.caching_mode)" 'NR>1 && $v=="cm" {print $c}' r.csv | sort -u)" = true ] ||
    fail "cm rows do not show vtd.caching_mode=true"
[ "$(awk -F, -v v="$(col variant)" -v c="$(col vtd.caching_mode)" 'NR>1 && $v=="strict" {print $c}' r.csv | sort -u)" = false ] ||
    fail "strict rows do not show vtd.caching_mode=false"

# --jobs 2 and a second run (all shards done: merge only) give the same bytes
"$IOSIM" sweep exp.yaml --shards j2.shards --jobs 2 -o j2.csv --no-progress 2>> e.txt || fail "--jobs 2"
cmp -s r.csv j2.csv || fail "--jobs 2 table differs from --jobs 1"
# (--jobs 2 hashes the traces on a thread of their own while the shards
# run, and finds the shards not done by their numbers: none has a file.)
# A file of a shard's number with another key is not that shard: run,
# not taken (a run that took it would leave the merge a shard short)
mkdir -p stale.shards
printf '# iosim sweep shard 0000\n' > stale.shards/shard-00000-000000000000.tsv
"$IOSIM" sweep exp.yaml --shards stale.shards --jobs 2 -o stale.csv \
    --no-progress 2>> e.txt || fail "--jobs 2 beside a stale file: $(tail -n 1 e.txt)"
cmp -s r.csv stale.csv || fail "--jobs 2 beside a stale file: the table differs"
"$IOSIM" sweep exp.yaml -o again.csv --no-progress 2>> e.txt || fail "second run"
cmp -s r.csv again.csv || fail "a second run (shards done) differs"

# JSON lines: typed values
"$IOSIM" sweep exp.yaml --merge -o r.jsonl 2>> e.txt || fail "--merge -o r.jsonl"
[ "$(wc -l < r.jsonl)" -eq 24 ] || fail "JSON lines: want 24"
head -n 1 r.jsonl | grep -q '"vtd.iotlb.ways": 1, ' || fail "JSON: ways not a number"
head -n 1 r.jsonl | grep -q '"vtd.caching_mode": false' || fail "JSON: caching_mode not a boolean"
head -n 1 r.jsonl | grep -q '"os.policy": "strict"' || fail "JSON: policy not a string"
head -n 1 r.jsonl | grep -q '"trace_bytes": [0-9]' || fail "JSON: trace_bytes not a number"
if /usr/bin/python3 -c 'import pandas' 2> /dev/null; then
    /usr/bin/python3 - <<'PY' || fail "pandas"
import pandas as pd
c = pd.read_csv("r.csv")
j = pd.read_json("r.jsonl", lines=True)
assert c.shape == (24, j.shape[1]), (c.shape, j.shape)
assert list(c.columns) == list(j.columns)
for col, kind in [("vtd.iotlb.ways", "i"), ("iotlb.misses", "i"),
                  ("trace_bytes", "i"), ("throughput_rps", "f"),
                  ("vtd.mem_ns", "i"), ("vtd.caching_mode", "b"),
                  ("os.policy", "O")]:
    assert c[col].dtype.kind == kind, (col, c[col].dtype)
    assert (c[col] == j[col]).all(), col
print("pandas: %d rows x %d columns, same in CSV and JSON lines" % c.shape)
PY
else
    echo "SKIP: pandas is not installed for /usr/bin/python3 (python3-pandas)"
fi

# bad files: one line naming file:line:col, exit 2, no table
# (within 10 s, as tests/cli/hostile_input.sh allows bad input: a range
# of a billion values took 45 s to be refused, each value compared with
# every one before it)
bad() { # WHAT WANT-REGEX FILE-TEXT (printf format)
    printf "$3" > bad.yaml
    rm -f bad.csv
    timeout 10 "$IOSIM" sweep bad.yaml -o bad.csv > /dev/null 2> be.txt
    local rc=$?
    [ $rc -eq 2 ] || fail "$1: exit $rc (124 = timed out), want 2"
    [ "$(wc -l < be.txt)" -eq 1 ] || fail "$1: not one line: $(cat be.txt)"
    grep -Eq -- "$2" be.txt || fail "$1: '$(cat be.txt)' does not match '$2'"
    [ ! -e bad.csv ] || fail "$1: left a table"
}
bad "bad value" '^iosim sweep: bad.yaml:4:27: vtd.iotlb.sets: 3 is not a power of two' \
    'traces: [a.zst]\ngrid:\n  - product:\n      vtd.iotlb.sets: [4, 3]\n'
bad "misspelt key" 'bad.yaml:2:19: .*vtd.iotlb.wayz: unknown key \(did you mean vtd.iotlb.ways\?\)' \
    'traces: [a.zst]\ngrid: [{product: {vtd.iotlb.wayz: [4]}}]\n'
bad "no match" "bad.yaml:1:17: traces: 'c\*.zst' matches no file" \
    'traces: [a.zst, "c*.zst"]\n'
bad "bad item" "bad.yaml:2:20: lazzy: os.policy: unknown policy" \
    'traces: [a.zst]\nvariants: [strict, lazzy]\n'
bad "bad metric" "bad.yaml:2:11: metrics: 'iotlb.mises' names no metric" \
    'traces: [a.zst]\nmetrics: [iotlb.mises]\n'
bad "zip lengths" 'bad.yaml:2:.*vtd.mem_ns: zip: 1 values' \
    'traces: [a.zst]\ngrid: [{zip: {vtd.iotlb.ways: [4, 8], vtd.mem_ns: [1]}}]\n'
bad "config key at top" 'bad.yaml:2:1: vtd.iotlb.ways: a configuration key' \
    'traces: [a.zst]\nvtd.iotlb.ways: 4\n'
bad "grid sets an item's key" "bad.yaml:3:.*os.policy: a variant's item sets it" \
    'traces: [a.zst]\nvariants: [strict]\ngrid: [{product: {os.policy: [lazy]}}]\n'
bad "YAML syntax" '^iosim sweep: bad.yaml:2:1: ' \
    'traces: [a.zst\n'
bad "a range of a billion" '^iosim sweep: bad.yaml:2:29: sim.seed: more than 100000 values$' \
    'traces: [a.zst]\ngrid: [{product: {sim.seed: {from: 1, to: 1000000000, step: 1}}}]\n'
bad "a geometric range too long" '^iosim sweep: bad.yaml:2:37: vtd.iotlb.hit_ns: more than 100000 values$' \
    'traces: [a.zst]\ngrid: [{product: {vtd.iotlb.hit_ns: {from: 1, to: 1e300, times: 1.000001}}}]\n'
# past 2^53 a double holds no longer every whole number: the range's
# values merged and the error said "value '1.84467440737096e+19' given twice"
bad "a range past 2^53" '^iosim sweep: bad.yaml:2:29: sim.seed: a range of whole numbers must stay within \+-2\^53' \
    'traces: [a.zst]\ngrid: [{product: {sim.seed: {from: 18446744073709551610, to: 18446744073709551615, step: 1}}}]\n'
# a repeat is still found, at the value that repeats (now by its hash)
bad "a value twice" "^iosim sweep: bad.yaml:2:46: vtd.iotlb.ways: value '4' given twice$" \
    'traces: [a.zst]\ngrid: [{product: {vtd.iotlb.ways: [4, 8, 16, 4]}}]\n'
finish
