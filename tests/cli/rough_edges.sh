#!/bin/bash
# rough_edges.sh — what a new user hits first, each checked by another
# route than the message itself: a substituted policy says so in its label
# (and runs as what it says); misspelled keys, policies and modes name the
# valid ones (read off iosim --list); --set k v, a trace as --config,
# --epoch without a unit and a missing trace are one line, exit 2; an
# interrupt says how far the replay got; the progress line has a rate and
# an ETA; gen random and gen nic take --direction and --dir alike;
# --help-config filters; vtd.iotlb.entries is sets x ways;
# scripts/iova-locality picks MAP records on a trace without DMA records
# and finds iosim-trace by --build or $IOSIM_TRACE alike.
# Env: IOSIM, IOSIM_TRACE, SRC, WORK (see tests/CMakeLists.txt).
. "${SRC:?}/tests/cli/lib/common.sh"
T="$SRC/traces/redis-lazy.zst"
C="$SRC/configs/qemu-guest.yaml"

# --- a command given too little: one line, exit 2 ---------------------------
# iosim-trace and each command without its input, -o or command word: one
# stderr line "PROG: what (usage: SYNOPSIS; try --help)", nothing on stdout
# (the whole usage text went to stderr: 5 to 43 lines); the synopsis is
# the first line of the command's --help (read here from --help itself)
S="$SRC/tests/data/trace_small.txt"
while IFS='|' read -r help_cmd what args; do
    # shellcheck disable=SC2086 # word lists
    synopsis=$("$IOSIM_TRACE" $help_cmd --help | head -n 1 | sed 's/^usage: //; s/  .*//')
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" $args > "$WORK/usage.out" 2> "$WORK/usage.err"
    rc=$?
    [ $rc -eq 2 ] || fail "iosim-trace $args: exit $rc, want 2"
    [ ! -s "$WORK/usage.out" ] || fail "iosim-trace $args: wrote to stdout"
    want="$what (usage: $synopsis; try --help)"
    [ "$(cat "$WORK/usage.err")" = "$want" ] ||
        fail "iosim-trace $args: stderr '$(head -c 300 "$WORK/usage.err")', want '$want'"
done <<EOF
|iosim-trace: no command given|
gen|iosim-trace gen: no kind given|gen
to-text|iosim-trace to-text: no input given|to-text
from-text|iosim-trace from-text: missing -o OUT.zst|from-text $S
convert|iosim-trace convert: missing -o OUT.zst|convert $S
retime|iosim-trace retime: give exactly one of --factor and --gbps|retime $S -o $WORK/r.zst
import|iosim-trace import: no source given (ftrace, qemu, trace-cmd)|import
verify|iosim-trace verify: no trace given|verify
stat|iosim-trace stat: no trace given|stat
pcap|iosim-trace pcap: no pcap given|pcap
gen random|iosim-trace gen random: missing -o OUT.zst|gen random --count 5
gen nic|iosim-trace gen nic: missing -o OUT.zst|gen nic
gen pvp|iosim-trace gen pvp: missing -o OUT.zst|gen pvp
EOF
[ ! -e "$WORK/r.zst" ] || fail "retime without a factor left its output"
# import --help: a flag's line has no metavar (the NULL one printed as
# "(null)": undefined behaviour); --help writes to stdout only, exit 0
"$IOSIM_TRACE" import --help > "$WORK/ihelp" 2> "$WORK/ihelp.err" ||
    fail "import --help: exit $?"
[ ! -s "$WORK/ihelp.err" ] || fail "import --help wrote to stderr"
grep -q '(null)' "$WORK/ihelp" && fail "import --help: $(grep '(null)' "$WORK/ihelp")"
grep -q '^  --pcap-tap  (qemu) ' "$WORK/ihelp" ||
    fail "import --help: no '--pcap-tap  (qemu)' line"
# every --help ends with the exit status, the two lines iosim --help has
# given since 690989f (README: 0 on success, 2 on any failure, out of
# memory included): iosim, its sweep and iotlb-sweep, iosim-trace and
# each command, gen kind and import source its own --help lists
want_status=$'exit status: 0 ok, 2 bad input, an output that cannot be written,\nor out of memory (one line on stderr says which)'
helps=("$IOSIM" "$IOSIM sweep" "$IOSIM iotlb-sweep" "$IOSIM_TRACE")
listed() { # the first words of the lines under "HEAD:" of a --help
    sed -n "/^$2:\$/,/^[^ ]/s/^  \([a-z][a-z-]*\) .*/\1/p" "$1"
}
"$IOSIM_TRACE" --help > "$WORK/thelp"
for c in $(listed "$WORK/thelp" commands); do helps+=("$IOSIM_TRACE $c"); done
"$IOSIM_TRACE" gen --help > "$WORK/ghelp"
for k in $(listed "$WORK/ghelp" kinds); do helps+=("$IOSIM_TRACE gen $k"); done
for k in $(listed "$WORK/ihelp" sources); do helps+=("$IOSIM_TRACE import $k"); done
[ ${#helps[@]} -ge 20 ] || fail "--help exit status: only ${#helps[@]} helps listed"
for h in "${helps[@]}"; do
    # shellcheck disable=SC2086 # a program and its words
    $h --help > "$WORK/help" 2> "$WORK/help.err" || fail "$h --help: exit $?"
    [ ! -s "$WORK/help.err" ] || fail "$h --help wrote to stderr"
    [ "$(tail -n 2 "$WORK/help")" = "$want_status" ] ||
        fail "$h --help: does not end with the exit status"
done
# usage_error OUT WANT ARGS...: iosim-trace ARGS exits 2 with the one
# stderr line WANT, nothing on stdout and OUT not written
usage_error() {
    local out=$1 want=$2 rc
    shift 2
    "$IOSIM_TRACE" "$@" > "$WORK/ue.out" 2> "$WORK/ue.err"
    rc=$?
    [ $rc -eq 2 ] && [ ! -s "$WORK/ue.out" ] && [ ! -e "$out" ] &&
        [ "$(cat "$WORK/ue.err")" = "$want" ] ||
        fail "iosim-trace $*: exit $rc: '$(head -c 300 "$WORK/ue.err")', want '$want'"
}
# import SOURCE (each source import --help lists): its usage errors name
# the source as gen KIND's do, "iosim-trace import SOURCE: what" (they
# said "iosim-trace import: what" until the follow-up of 76a0767), an
# option before the source word too: missing input, -o or required
# option (with the synopsis of "import SOURCE --help"'s first line, which
# must be that source's), an unknown option, a missing or bad value; one
# line, exit 2, nothing on stdout, no output left
srcs=$(listed "$WORK/ihelp" sources)
[ "$(echo "$srcs" | wc -w)" -ge 3 ] || fail "import --help lists only: $srcs"
O="$WORK/imp-usage.zst"
for k in $srcs; do
    # shellcheck disable=SC2086
    syn=$("$IOSIM_TRACE" import $k --help | head -n 1 | sed 's/^usage: //; s/  .*//')
    [[ $syn == "iosim-trace import $k "* ]] || fail "import $k --help: first line '$syn'"
    # its required options: the synopsis's --NAME METAVAR out of brackets
    req=$(echo "$syn" | sed 's/\[[^]]*\]//g' | grep -o -- '--[a-z-]* [A-Z_]*' | head -n 1)
    while IFS='|' read -r args what; do
        [ -n "$args" ] || continue
        # shellcheck disable=SC2086 # word lists
        usage_error "$O" "iosim-trace import $k: $what" import $args
    done <<EOF
$k|no input given (usage: $syn; try --help)
$k $S|missing -o OUT.zst (usage: $syn; try --help)
$k $S -o $O --no-such-option|unknown option '--no-such-option' (try --help)
--window $k $S -o $O --domain|--domain needs a value
--domain 70000 $k $S -o $O|--domain 70000: expected 0..65535
$k --virtio-ring ring $S -o $O|--virtio-ring 'ring': split or packed
${req:+$k $S -o $O|missing $req (usage: $syn; try --help)}
EOF
done
# a source's own options: another source's is unknown to it, a missing
# value is named (the library's parse, param_args.c)
while IFS='|' read -r args what; do
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" import $args > "$WORK/iu.out" 2> "$WORK/iu.err"
    rc=$?
    [ $rc -eq 2 ] && [ ! -e "$O" ] && [ "$(cat "$WORK/iu.err")" = "$what" ] ||
        fail "iosim-trace import $args: exit $rc: '$(head -c 300 "$WORK/iu.err")', want '$what'"
done <<EOF
ftrace $S -o $O --pcap-tap|iosim-trace import ftrace: unknown option '--pcap-tap' (try --help)
trace-cmd $S -o $O --guest $S|iosim-trace import trace-cmd: unknown option '--guest' (try --help)
qemu $S -o $O --guest|iosim-trace import qemu: --guest needs a value
qemu $S --guest $S -o $S|iosim-trace import qemu: -o $S: is the input $S
nosuch $S -o $O|iosim-trace import: unknown source 'nosuch' (try --help)
EOF
# run-time errors (the input) keep "iosim-trace import: FILE:LINE: what",
# the line the one spoiled here: ftrace's 16th (a map's paddr), the QEMU
# log's 7th (an invalidation descriptor)
D="$SRC/tests/data"
{ head -n 15 "$D/ftrace-redis-strict.txt"
  echo '          <idle>-0       [001] b.s2.     6.836023: map: IOMMU: iova=0x00000000ffff9000 - 0x00000000ffffa000 paddr=zz size=4096'
  sed -n 16,30p "$D/ftrace-redis-strict.txt"; } > "$WORK/bad-f.txt"
sed '7s/.*/vtd_inv_desc invalidate desc type/' "$D/qemu-redis-strict.log" > "$WORK/bad-q.log"
while IFS='|' read -r args what; do
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" import $args -o "$O" > /dev/null 2> "$WORK/iu.err"
    rc=$?
    [ $rc -eq 2 ] && [ ! -e "$O" ] && [ "$(wc -l < "$WORK/iu.err")" -eq 1 ] &&
        [[ $(cat "$WORK/iu.err") == "$what"* ]] ||
        fail "iosim-trace import $args: exit $rc: '$(head -c 300 "$WORK/iu.err")', want '$what...'"
done <<EOF
ftrace $WORK/bad-f.txt|iosim-trace import: $WORK/bad-f.txt:16: map: 
qemu $WORK/bad-q.log --guest $D/ftrace-redis-strict-qemu-guest.txt|iosim-trace import: $WORK/bad-q.log:7: vtd_inv_desc: 
EOF
ls "$WORK"/imp-usage.zst.tmp.* > /dev/null 2>&1 && fail "an import usage error left a temporary"
# an unknown option is one line in the same style as the usage errors
# above, "iosim-trace CMD: unknown option ..." (verify, stat, to-text,
# from-text and convert said "iosim-trace: CMD: ..." until 22c837d), exit
# 2; gen's kinds (their messages come from the library as "gen KIND: ...",
# printed as "iosim-trace: gen KIND: ..." until the follow-up of 22c837d)
# as "iosim-trace gen KIND: ...", for an unknown option, a bad value, a
# missing value and a check across options, with no output left
cmds=()
for c in $(listed "$WORK/thelp" commands); do [ "$c" = gen ] || cmds+=("$c"); done
for k in $(listed "$WORK/ghelp" kinds); do cmds+=("gen $k"); done
[ ${#cmds[@]} -ge 12 ] || fail "unknown option: only ${#cmds[@]} commands and kinds listed"
for c in "${cmds[@]}"; do
    o=(); [[ $c == gen* ]] && o=(-o "$WORK/opt.zst") # gen wants -o first
    # shellcheck disable=SC2086 # "gen KIND" is two words
    "$IOSIM_TRACE" $c --no-such-option "${o[@]}" > "$WORK/opt.out" 2> "$WORK/opt.err"
    rc=$?
    want="iosim-trace $c: unknown option '--no-such-option'"
    [ $rc -eq 2 ] && [ ! -s "$WORK/opt.out" ] &&
        [ "$(wc -l < "$WORK/opt.err")" -eq 1 ] &&
        [[ $(cat "$WORK/opt.err") == "$want"* ]] ||
        fail "iosim-trace $c --no-such-option: exit $rc: $(head -c 200 "$WORK/opt.err"), want '$want'"
done
# KIND|OPTIONS|the line after "iosim-trace gen KIND: " (the library's
# checks: gen_param_set, gen_params_parse, each kind's validate hook)
while IFS='|' read -r k opts what; do
    # shellcheck disable=SC2086 # word lists
    usage_error "$WORK/gk.zst" "iosim-trace gen $k: $what" gen $k $opts -o "$WORK/gk.zst"
done <<EOF
random|--page-size 8K|--page-size: 8192 is not 4K, 2M or 1G
random|--dir sideways|--dir: expected read|write, got 'sideways'
random|--count|--count needs a value
nic|--packets 5 --duration 1|give only one of --packets and --duration
nic|--rx-cache -1|--rx-cache: expected a number (K/M/G suffix allowed), got '-1'
pvp|--ring-size 0|--ring-size: 0 is less than 1
pvp|--ring-size 40000|--ring-size must be in [1, 32768] and --vrings at most 64
EOF
ls "$WORK"/gk.zst.tmp.* > /dev/null 2>&1 && fail "a gen usage error left a temporary"
# a run-time error (the output cannot be created) keeps "iosim-trace: ..."
"$IOSIM_TRACE" gen random --count 5 -o "$WORK/no/such/dir.zst" 2> "$WORK/gk.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$WORK/gk.err")" -eq 1 ] &&
    [[ $(cat "$WORK/gk.err") == "iosim-trace: $WORK/no/such/dir.zst: cannot create "* ]] ||
    fail "gen to a missing directory: exit $rc: $(head -c 200 "$WORK/gk.err")"

# --- a substitution is in the label ----------------------------------------
# Under caching mode (qemu-guest.yaml) Linux runs lazy as strict: the
# column says so, and its counters are strict's own.
"$IOSIM" --config "$C" --compare lazy,strict --format csv --no-progress "$T" \
    > "$WORK/cm.csv" || fail "compare under caching mode: exit $?"
LZ='lazy (forced strict: caching mode)'
labels=$(awk -F, '$1 == "stat" { print $2 }' "$WORK/cm.csv" | sort -u)
[ "$labels" = "$(printf '%s\nstrict' "$LZ")" ] ||
    fail "labels under caching mode: '$labels'"
diff <(awk -F, -v l="$LZ" '$1 == "stat" && $2 == l { print $3, $4 }' "$WORK/cm.csv") \
     <(awk -F, '$1 == "stat" && $2 == "strict" { print $3, $4 }' "$WORK/cm.csv") \
    > /dev/null || fail "the forced-strict lazy column differs from strict's"
# without caching mode lazy is lazy, and labelled so
"$IOSIM" --config "$C" --set vtd.caching_mode=false --compare lazy \
    --format csv --no-progress "$T" > "$WORK/nocm.csv" || fail "lazy without CM: exit $?"
[ "$(awk -F, '$1 == "stat" { print $2 }' "$WORK/nocm.csv" | sort -u)" = lazy ] ||
    fail "lazy without caching mode is not labelled 'lazy'"
# the epoch rows (what plot_epochs.py draws) carry the same label
"$IOSIM" --config "$C" --compare lazy --epoch 1s --epoch-out "$WORK/ep.csv" \
    --no-progress "$T" > /dev/null || fail "epoch run: exit $?"
[ "$(tail -n +2 "$WORK/ep.csv" | cut -d, -f1 | sort -u)" = "$LZ" ] ||
    fail "epoch rows not labelled '$LZ'"
# a mode without a host stage under a nested config translates with one
# stage (sweep/plan.c): the column says so; one with a host stage does not
"$IOSIM" --config "$SRC/configs/nested-guest.yaml" --compare strict@emulated,strict@nested \
    --format csv --no-progress "$SRC/traces/redis-strict-pcap-qemu.zst" > "$WORK/ns.csv" ||
    fail "compare under a nested config: exit $?"
[ "$(awk -F, '$1 == "stat" { print $2 }' "$WORK/ns.csv" | sort -u)" = \
  "$(printf 'strict@emulated (second-stage: no host stage)\nstrict@nested')" ] ||
    fail "labels under a nested config: $(awk -F, '$1 == "stat" { print $2 }' "$WORK/ns.csv" | sort -u | tr '\n' '|')"

# --- one-line errors ------------------------------------------------------
# expect_bad_input WANT ARGS...: exit 2, one line on stderr containing WANT, no -o file
expect_bad_input "--set vtd.iotlb.way: no such key (did you mean vtd.iotlb.ways?)" \
    --set vtd.iotlb.way=16 "$T"
# the valid names are the registries' (iosim --list), in its order
"$IOSIM" --list > "$WORK/list" || fail "--list: exit $?"
names() { awk -v s="$1:" '/^[^ ]/ { on = ($1 == s); next }
                           on { printf "%s%s", n++ ? "|" : "", $1 }' "$WORK/list"; }
POL=$(names os.policy)
MODES=$(names hv.mode)
[ -n "$POL" ] && [ -n "$MODES" ] || fail "--list names no policy or mode"
expect_bad_input "unknown policy 'lazzy' (one of $POL)" --set os.policy=lazzy "$T"
expect_bad_input "--compare Strict: os.policy: unknown policy 'Strict' (one of $POL)" \
    --compare Strict,lazy "$T"
expect_bad_input "unknown mode 'emulate' (one of $MODES)" --compare strict@emulate "$T"
expect_bad_input "--set vtd.iotlb.ways: --set takes KEY=VALUE as one argument (--set vtd.iotlb.ways=16)" \
    --set vtd.iotlb.ways 16 "$T"
expect_bad_input "$T: not a YAML file" --config "$T" "$T"
head -c 4096 /dev/urandom > "$WORK/random.yaml"
printf 'vtd:\n  iotlb: \xff\xfe\n' > "$WORK/latin1.yaml"
expect_bad_input "$WORK/latin1.yaml: not a YAML file" --config "$WORK/latin1.yaml" "$T"
expect_bad_input "--epoch: '10' is not a duration (a whole number > 0 with a unit: ns, us, ms or s" \
    --epoch 10 --epoch-out "$WORK/e.csv" "$T"
[ ! -e "$WORK/e.csv" ] || fail "--epoch 10 left its output"
expect_bad_input "no trace given" --config "$C"
grep -qF -- "--help" "$WORK/stderr" || fail "no trace: no hint to --help"
# --help-config with a filter lists exactly the keys under it
"$IOSIM" --help-config > "$WORK/ref_all" || fail "--help-config: exit $?"
"$IOSIM" --help-config vtd.iotlb > "$WORK/ref_iotlb" || fail "--help-config vtd.iotlb: exit $?"
diff <(grep '^| vtd\.iotlb\.' "$WORK/ref_all") <(tail -n +3 "$WORK/ref_iotlb") > /dev/null ||
    fail "--help-config vtd.iotlb: not the vtd.iotlb.* rows"
[ "$(head -n 2 "$WORK/ref_iotlb")" = "$(head -n 2 "$WORK/ref_all")" ] ||
    fail "--help-config vtd.iotlb: no table header"
[ "$(grep -c '^| vtd\.iotlb\.' "$WORK/ref_iotlb")" -ge 6 ] ||
    fail "--help-config vtd.iotlb: fewer than 6 rows"
"$IOSIM" --help-config vtd.nope > /dev/null 2> "$WORK/stderr"
[ $? -eq 2 ] || fail "--help-config vtd.nope: exit not 2"

# --- vtd.iotlb.entries ----------------------------------------------------
# 16 entries of 4 ways are 4 sets: the same run as sets=4 ways=4
# (random reads over 64 pages: the misses depend on the capacity)
"$IOSIM_TRACE" gen random --window 256K --size 4K --count 20000 -o "$WORK/rnd.zst" ||
    fail "gen rnd: exit $?"
stats() { "$IOSIM" --config "$SRC/configs/vtd.yaml" --format csv --no-progress "$@" \
              "$WORK/rnd.zst" | grep '^stat,'; }
stats --set vtd.iotlb.entries=16 --set vtd.iotlb.ways=4 > "$WORK/e1" || fail "entries run: exit $?"
stats --set vtd.iotlb.sets=4 --set vtd.iotlb.ways=4 > "$WORK/e2" || fail "sets run: exit $?"
cmp -s "$WORK/e1" "$WORK/e2" || fail "entries=16 ways=4 differs from sets=4 ways=4"
cmp -s "$WORK/e1" <(stats) && fail "entries=16 ways=4 equals the default 8 x 8"
expect_bad_input "vtd.iotlb.entries: 128 but vtd.iotlb.sets x ways is 4 x 16 (give sets or entries, not both)" \
    --set vtd.iotlb.entries=128 --set vtd.iotlb.ways=16 --set vtd.iotlb.sets=4 "$T"

# --- gen: --direction and --dir ---------------------------------------------
for kind in "random --window 1M --size 4K --count 500" "nic --packets 200"; do
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" gen $kind --direction write -o "$WORK/g1.txt" --text 2> /dev/null ||
        "$IOSIM_TRACE" gen $kind --direction tx -o "$WORK/g1.txt" --text ||
        fail "gen $kind --direction: exit $?"
    # shellcheck disable=SC2086
    "$IOSIM_TRACE" gen $kind --dir write -o "$WORK/g2.txt" --text 2> /dev/null ||
        "$IOSIM_TRACE" gen $kind --dir tx -o "$WORK/g2.txt" --text ||
        fail "gen $kind --dir: exit $?"
    cmp -s "$WORK/g1.txt" "$WORK/g2.txt" || fail "gen $kind: --dir and --direction differ"
done
"$IOSIM_TRACE" gen random --help 2>&1 | grep -q -- '--direction read|write' ||
    fail "gen random --help does not document --direction"

# --- scripts/iova-locality --------------------------------------------------
# an ftrace capture has no DMA records: MAP records by default, said so
LOC="$SRC/scripts/iova-locality"
R="$SRC/traces/redis-strict.zst"
/usr/bin/python3 "$LOC" "$R" > "$WORK/loc_auto" 2> "$WORK/loc_err" || fail "iova-locality: exit $?"
/usr/bin/python3 "$LOC" --records map "$R" > "$WORK/loc_map" || fail "iova-locality --records map: exit $?"
cmp -s "$WORK/loc_auto" "$WORK/loc_map" || fail "iova-locality on ftrace: not the MAP records"
maps=$("$IOSIM_TRACE" to-text "$R" | grep -c '^MAP ')
[ "$(tail -n 1 "$WORK/loc_auto" | cut -d, -f2)" = "$maps" ] ||
    fail "iova-locality: accesses are not the trace's $maps maps"
grep -q "MAP records used" "$WORK/loc_err" || fail "iova-locality: no note on stderr"
/usr/bin/python3 "$LOC" --records dma "$R" > /dev/null 2> "$WORK/loc_err"
grep -q -- "try --records map" "$WORK/loc_err" || fail "iova-locality --records dma: no hint"
# --build DIR and $IOSIM_TRACE name the same program
IOSIM_TRACE=/nonexistent /usr/bin/python3 "$LOC" --build "$(dirname "$IOSIM_TRACE")" "$R" \
    > "$WORK/loc_build" 2> /dev/null || fail "iova-locality --build: exit $?"
cmp -s "$WORK/loc_auto" "$WORK/loc_build" || fail "iova-locality: --build differs from \$IOSIM_TRACE"

# --- interrupt and progress -------------------------------------------------
# A long trace, stopped (SIGSTOP) once its first progress line is out: the
# run is mid-trace when it is continued and then terminated or timed.
"$IOSIM_TRACE" gen random --window 4M --size 4K --count 3000000 -o "$WORK/long.zst" ||
    fail "gen long: exit $?"
total=$("$IOSIM_TRACE" stat --format json "$WORK/long.zst" |
        sed -n 's/.*"records": {"total": *\([0-9]*\).*/\1/p' | head -n 1)
# run_stopped ARGS...: starts iosim --progress in the background (pid in
# $pid), waits for its first progress output, stops it for 1.2 s
run_stopped() {
    rm -f "$WORK/prog"
    "$IOSIM" --progress "$@" "$WORK/long.zst" > /dev/null 2> "$WORK/prog" &
    pid=$!
    for _ in $(seq 1 400); do
        [ -s "$WORK/prog" ] && break
        sleep 0.02
    done
    kill -STOP "$pid"
    sleep 1.2
}
run_stopped -o "$WORK/int.txt"
kill -TERM "$pid"
kill -CONT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] || fail "SIGTERM: exit $rc, want 143"
line=$(tr '\r' '\n' < "$WORK/prog" | grep interrupted)
[ "$(echo "$line" | grep -c .)" -eq 1 ] || fail "interrupt: not one line: $line"
done_recs=$(echo "$line" | sed -n 's/.*interrupted after \([0-9]*\) records of .*long.zst (\([0-9.]*\)% of it); no report or output file written$/\1/p')
[ -n "$done_recs" ] || fail "interrupt line: '$line'"
[ -n "$done_recs" ] && [ "$done_recs" -gt 0 ] && [ "$done_recs" -lt "$total" ] ||
    fail "interrupt: $done_recs records done, want 1..$((total - 1))"
[ ! -e "$WORK/int.txt" ] || fail "interrupt left the output file"
ls "$WORK" | grep -q '\.tmp' && fail "interrupt left a temporary"
run_stopped --set os.policy=passthrough
kill -CONT "$pid"
wait "$pid" || fail "progress run: exit $?"
tr '\r' '\n' < "$WORK/prog" | grep -Eq 'records/s +ETA [0-9]+:[0-5][0-9]' ||
    fail "progress line without rate and ETA: $(tr '\r' '\n' < "$WORK/prog" | tail -n 3)"
tr '\r' '\n' < "$WORK/prog" | grep -q "100.0%  $total records" ||
    fail "progress line does not end at 100% and $total records"

finish
