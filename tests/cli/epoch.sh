#!/usr/bin/env bash
# --epoch DURATION --epoch-out FILE: the counters as a time series.
# Checked by routes independent of the epoch code:
#   - rows per sim = floor((last - first record time) / epoch) + 1, the
#     times from `iosim-trace stat`;
#   - with sim.window_only=false every additive counter summed over a
#     sim's rows equals that sim's counter in the JSON report, and
#     trace.records sums to stat's record count;
#   - the series is the same with the measurement window on, and with
#     --threads 2;
#   - bad input: one line, exit 2, neither the epoch file nor the -o file
#     nor a temporary is left.
. "${SRC:?}/tests/cli/lib/common.sh"
C=$SRC/configs/vtd.yaml
T=$SRC/traces/redis-lazy.zst
SIMS=strict,lazy,fands@emulated

"$IOSIM" --config "$C" --no-progress --compare $SIMS --format json \
    --set sim.window_only=false --epoch 7ms --epoch-out "$WORK/a.csv" "$T" \
    > "$WORK/a.json" || fail "epoch run: exit $?"
"$IOSIM" --config "$C" --no-progress --compare $SIMS --threads 2 \
    --epoch 7000us --epoch-out "$WORK/b.csv" "$T" > /dev/null ||
    fail "windowed 2-thread epoch run: exit $?"
cmp -s "$WORK/a.csv" "$WORK/b.csv" ||
    fail "the series changes with the window or the thread count"

# rows per sim, from the trace's own first and last record times
"$IOSIM_TRACE" stat "$T" > "$WORK/stat.txt" || fail "stat"
first=$(awk '$1=="time.first" {print $3}' "$WORK/stat.txt")
last=$(awk '$1=="time.last" {print $3}' "$WORK/stat.txt")
total=$(awk '$1=="records.total" {print $3}' "$WORK/stat.txt")
want=$(( (last - first) / 7000000 + 1 ))
for s in strict lazy fands@emulated; do
    n=$(awk -F, -v s="$s" '$1==s' "$WORK/a.csv" | wc -l)
    [ "$n" -eq "$want" ] || fail "$s: $n rows, want $want"
    got=$(awk -F, -v s="$s" 'NR==1 {for (i=1;i<=NF;i++) if ($i=="trace.records") c=i}
                             $1==s {t+=$c} END {print t}' "$WORK/a.csv")
    [ "$got" = "$total" ] || fail "$s: trace.records sums to $got, want $total"
done
[ "$want" -gt 100 ] || fail "only $want epochs: the test checks too little"

# additive counters: the sum over the rows is the report's value (JSON
# "stat" of each sim, as "label name value" lines)
tr -d ' \n' < "$WORK/a.json" |
    grep -o '"label":"[^"]*","config":{[^}]*},"stat":{[^}]*}' |
    sed -e 's/"label":"\([^"]*\)","config":{[^}]*},"stat":{/\1 /' -e 's/}$//' |
    awk '{ split($2, kv, ","); for (i in kv) { split(kv[i], p, ":");
           gsub(/"/, "", p[1]); print $1, p[1], p[2] } }' |
    sort > "$WORK/report.txt"
awk -F, 'NR==1 { for (i=5;i<=NF;i++) name[i]=$i; n=NF; next }
         { for (i=5;i<=n;i++) sum[$1" "name[i]] += $i }
         END { for (k in sum) printf "%s %.0f\n", k, sum[k] }' "$WORK/a.csv" |
    sort > "$WORK/sums.txt"
# not sums (epoch.c): gauges, the span, the two device times; and
# trace.requests, which the report fills from the metadata
skip='pt.pages_live|pt.pages_peak|pt.mappings_peak|trace.duration_ns|dma.device_time_ns|dma.overlapped_time_ns|trace.requests'
n=$(grep -cvE " ($skip) " "$WORK/report.txt")
[ "$n" -gt 200 ] || fail "only $n counters compared"
diff <(grep -vE " ($skip) " "$WORK/report.txt") \
     <(grep -vE " ($skip) " "$WORK/sums.txt") > "$WORK/diff.txt" ||
    fail "sums over epochs differ from the report: $(head -n 4 "$WORK/diff.txt" | tr '\n' ' ')"
# the run did work that varies over time: IOTLB misses in several epochs
busy=$(awk -F, 'NR==1 {for (i=1;i<=NF;i++) if ($i=="iq.submits") c=i}
                $1=="strict" && $c>0' "$WORK/a.csv" | wc -l)
[ "$busy" -gt 10 ] || fail "strict: invalidations in only $busy epochs"

# ---- bad input ------------------------------------------------------------
bad() { # NAME WANT-IN-MESSAGE ARGS...
    local name=$1 want=$2; shift 2
    rm -f "$WORK/$name".*
    "$IOSIM" --config "$C" --no-progress -o "$WORK/$name.out" "$@" \
        > /dev/null 2> "$WORK/$name.err"
    rc=$?
    [ $rc -eq 2 ] || fail "$name: exit $rc, want 2"
    [ "$(wc -l < "$WORK/$name.err")" -eq 1 ] || fail "$name: stderr not one line"
    grep -q -- "$want" "$WORK/$name.err" || fail "$name: message lacks '$want'"
    ls "$WORK/$name".out* "$WORK/$name".csv* > /dev/null 2>&1 &&
        fail "$name: left an output or temporary file"
}
bad no_out "go together" --epoch 1ms "$T"
bad no_len "go together" --epoch-out "$WORK/no_len.csv" "$T"
bad same "the same file" --epoch 1ms --epoch-out "$WORK/same.out" "$T"
bad zero "not a duration" --epoch 0 --epoch-out "$WORK/zero.csv" "$T"
bad unit "not a duration" --epoch 5min --epoch-out "$WORK/unit.csv" "$T"
bad frac "not a duration" --epoch 1.5ms --epoch-out "$WORK/frac.csv" "$T"
bad dir "cannot create" --epoch 1ms --epoch-out "$WORK/none/x.csv" "$T"
# two records 2 s apart: 2 billion 1 ns epochs, over the 1,000,000 limit
cat > "$WORK/far.txt" <<'EOF'
# iosim-trace text v1
MAP t=0 cpu=0 dev=01:00.0 dom=1 iova=0x1000 size=4096 phys=0x5000 prot=rw
UNMAP t=2000000000 cpu=0 dev=01:00.0 dom=1 iova=0x1000 size=4096
EOF
bad rows "longer epoch" --epoch 1ns --epoch-out "$WORK/rows.csv" "$WORK/far.txt"
bad rows2 "longer epoch" --threads 2 --compare strict,lazy --epoch 1ns \
    --epoch-out "$WORK/rows2.csv" "$WORK/far.txt"
# ... and in 2 ms epochs: 1000 full ones and the last record's, 1001 rows
"$IOSIM" --config "$C" --no-progress --epoch 2ms --epoch-out "$WORK/far.csv" \
    "$WORK/far.txt" > /dev/null || fail "far.txt in 2 ms epochs: exit $?"
n=$(($(wc -l < "$WORK/far.csv") - 1))
[ "$n" -eq 1001 ] || fail "far.txt in 2 ms epochs: $n rows, want 1001"

finish
