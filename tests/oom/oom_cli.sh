#!/usr/bin/env bash
# oom_cli.sh — iosim-trace's readers and an iosim run on an allocation
# failure: every run
# of a command whose N-th allocation fails (N = 1 .. all the allocations
# the command makes; failalloc.c preloaded with IOSIM_FAILALLOC=N) either
# gives the output of the run where nothing fails, or exits with ONE line
# on stderr that says "out of memory" and leaves no output file (nor the
# temporary it was written to, NAME.tmp.PID): status 2, whether a reader
# or writer reported it (the library's error path) or the program's own
# allocation failed ("iosim-trace: out of memory"), as `iosim --help`
# says (the program's own was status 1, which --help gave for out of
# memory while the library's was 2).  Never a crash, never another
# message (a failed allocation read as a missing file, an empty or
# truncated input, a report echoing another configuration than the one
# that ran).  An `iosim` run of the small trace with --dump-accesses
# covers the model's allocations on bare metal, base/zmem.c's two
# anonymous mappings included (test_oom.c sweeps the sims
# of the other modes through the library), the program's own and the
# access dump's (two output files: both or neither).  The same run
# without the dump makes the same allocations but the dump's (162 of 169
# here; its outcomes are a subset of this run's): not swept again.
# env: IOSIM_TRACE, IOSIM, SRC, WORK, FAILALLOC (the preloadable object).
set -u
: "${IOSIM_TRACE:?}" "${IOSIM:?}" "${SRC:?}" "${WORK:?}" "${FAILALLOC:?}"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail=0

small=$SRC/tests/data/trace_small.txt
"$IOSIM_TRACE" from-text "$small" -o small-v2.zst || exit 1
"$IOSIM_TRACE" convert --format v1 small-v2.zst -o small-v1.zst || exit 1

# sweep NAME OUT CMD...: OUT is the command's output file ('-': none),
# or several separated by spaces (all or none must be written)
# (the checks of a failed run are shell builtins: a grep or wc per run
# cost more than the run itself)
sweep() {
    local name=$1 outs=$2 out n total rc err nl
    maps=
    shift 2
    [ "$outs" = - ] && outs=
    rm -f $outs
    IOSIM_FAILALLOC_COUNT=1 LD_PRELOAD=$FAILALLOC "$@" > ref.out 2> ref.err
    rc=$?
    total=$(sed -n 's/^failalloc: \([0-9]*\) allocations, [0-9]* mappings$/\1/p' ref.err)
    maps=$(sed -n 's/^failalloc: [0-9]* allocations, \([0-9]*\) mappings$/\1/p' ref.err)
    if [ $rc != 0 ] || [ -z "$total" ]; then
        echo "FAIL $name: the run without a failure: exit $rc: $(head -3 ref.err)"
        fail=1
        return
    fi
    for out in $outs; do mv "$out" "ref.$out"; done
    for n in $(seq 1 "$total"); do
        IOSIM_FAILALLOC=$n LD_PRELOAD=$FAILALLOC "$@" > got.out 2> got.err
        rc=$?
        if [ $rc = 0 ]; then
            cmp -s got.out ref.out || {
                echo "FAIL $name: allocation $n failed, exit 0 with other output"
                fail=1
            }
            for out in $outs; do
                cmp -s "$out" "ref.$out" || {
                    echo "FAIL $name: allocation $n failed, exit 0 with another $out"
                    fail=1
                }
            done
        else
            # one line (one newline, at the end) saying "out of memory";
            # exit 2
            err=
            IFS= read -r -d '' err < got.err
            nl=${err//[!$'\n']/}
            if [ $rc != 2 ] ||
               [ ${#nl} != 1 ] || [ "${err: -1}" != $'\n' ] ||
               [[ $err != *"out of memory"* ]]; then
                echo "FAIL $name: allocation $n failed: exit $rc: ${err:0:300}"
                fail=1
            else
                for out in $outs; do
                    [ -e "$out" ] || continue
                    echo "FAIL $name: allocation $n failed and $out was left"
                    fail=1
                done
            fi
        fi
        # nor a temporary an output was written to
        for out in ./*.tmp.*; do
            [ -e "$out" ] || continue
            echo "FAIL $name: allocation $n left ${out#./}"
            fail=1
            rm -f "$out"
        done
        for out in $outs; do
            [ ! -e "$out" ] || rm -f "$out"
        done
    done
    echo "$name: $total allocations ($maps anonymous mappings) swept"
}

sweep "stat v1" - "$IOSIM_TRACE" stat small-v1.zst
sweep "stat v2" - "$IOSIM_TRACE" stat small-v2.zst
sweep "stat text" - "$IOSIM_TRACE" stat "$small"
sweep "import ftrace" imp.zst "$IOSIM_TRACE" import ftrace \
    "$SRC/tests/data/ftrace-redis-strict.txt" -o imp.zst
sweep "import qemu" imp.zst "$IOSIM_TRACE" import qemu \
    "$SRC/tests/data/qemu-redis-strict.log" \
    --guest "$SRC/tests/data/ftrace-redis-strict-qemu-guest.txt" -o imp.zst
# --dump-accesses: the sim's page index and map list, the rows' temporary
# file and the dump's own output file, beside the report
sweep "iosim run --dump-accesses" "rep.txt dump.csv" "$IOSIM" "$small" \
    -o rep.txt --dump-accesses dump.csv
# among its allocations (all failed in turn), base/zmem.c's two anonymous
# mappings: the sim and the VT-d source-id map (their NULL checks)
[ "$maps" = 2 ] || {
    echo "FAIL iosim run: $maps anonymous mappings counted, want 2"
    fail=1
}
# a shared sweep on threads (sweep/share.c, system/sim.c's front pool):
# --threads 3 with a FIFO IOTLB gives one front and 4 back ends on the
# pool's threads; an LRU sweep of a stream whose geometries diverge takes
# two passes (pass 1's leader and shadow feed, pass 2's kept records and
# front); an allocation failing on any thread must end the run the same way
sweep "iosim fifo front --threads 3" rep.txt "$IOSIM" "$small" -o rep.txt \
    --sweep vtd.iotlb.replacement=fifo --sweep vtd.iotlb.sets=1,16 \
    --sweep vtd.iotlb.ways=1,8 --threads 3
"$IOSIM_TRACE" gen random --window 1M --size 64 --direction read \
    --count 3000 --page-size 4K --seed 1 --no-marks -o rand.zst || exit 1
sweep "iosim lru two passes --threads 3" rep.txt "$IOSIM" rand.zst -o rep.txt \
    --sweep vtd.iotlb.sets=1,8,64 --sweep vtd.iotlb.ways=1,4 --threads 3
grep -q "passes over the trace: 2" ref.rep.txt || {
    echo "FAIL iosim lru two passes: the sweep did not take two passes"
    fail=1
}
exit $fail
