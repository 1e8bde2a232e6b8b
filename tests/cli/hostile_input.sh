#!/usr/bin/env bash
# hostile_input.sh — limits for hostile input: each input below can hang
# a parser or grow its memory to the limit when unbounded; each must give
# one line naming the file and the place, exit 2, within a few seconds
# (timeout 10 s, on a loaded 2-core machine), and leave no output file.
#   - YAML nested 40,000 flow levels deep (libyaml's parse is quadratic in
#     the depth: 6 s at this size before the limit), block levels by
#     indentation, "- - - x" sequences, and a 2 MB file;
#   - a text trace whose line never ends (/dev/zero; a 3 MB line);
# and the exit codes and names: a --set value that breaks a rule names
# --set; an output on a full disk is exit 2 in both programs, stdout
# included (results, --list and --help texts).
. "${SRC:?}/tests/cli/lib/common.sh"
TRACE="$SRC/tests/data/trace_small.txt"
BAD_INPUT_SECONDS=10
awk 'BEGIN { printf "sim:\n  seed: "; for (i = 0; i < 40000; i++) printf "["; for (i = 0; i < 40000; i++) printf "]"; print "" }' > "$WORK/flow.yaml"
expect_bad_input "flow.yaml:2:73: nested deeper than 64 levels" --config "$WORK/flow.yaml" "$TRACE"
awk 'BEGIN { for (i = 0; i < 70; i++) { for (j = 0; j < i; j++) printf " "; printf "k%d:\n", i } }' > "$WORK/block.yaml"
expect_bad_input "block.yaml:65:65: nested deeper than 64 levels" --config "$WORK/block.yaml" "$TRACE"
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "- "; print "x" }' > "$WORK/dash.yaml"
expect_bad_input "dash.yaml:1:1: nested deeper than 64 levels" --config "$WORK/dash.yaml" "$TRACE"
head -c 2000000 /dev/zero | tr '\0' '#' > "$WORK/big.yaml"
expect_bad_input "big.yaml: larger than 1048576 bytes" --config "$WORK/big.yaml" "$TRACE"
# a legitimate config nested as deep as the real ones still loads
# (and replays: every record of the trace counted, by grep)
got=$("$IOSIM" --no-progress --config "$SRC/configs/vtd.yaml" --set sim.window_only=false \
      --format csv "$TRACE" | awk -F, '$1 == "stat" && $3 == "trace.records" { print $4 }')
[ "$got" = "$(grep -c '^[A-Z]' "$TRACE")" ] ||
    fail "vtd.yaml refused or misread: trace.records '$got', $(grep -c '^[A-Z]' "$TRACE") record lines"
expect_bad_input "/dev/zero:1: line longer than 1048576 bytes" /dev/zero
{ echo "# iosim-trace text v1"; head -c 3000000 /dev/zero | tr '\0' 'a'; } > "$WORK/long.txt"
expect_bad_input "long.txt:2: line longer than 1048576 bytes" "$WORK/long.txt"
timeout 10 "$IOSIM_TRACE" to-text "$WORK/long.txt" > /dev/null 2> "$WORK/err"
[ $? -eq 2 ] && grep -q 'long.txt:2: line longer' "$WORK/err" || fail "iosim-trace to-text: $(cat "$WORK/err")"
# a v1 trace cut inside its first zstd block decodes to nothing: the
# message says so (it blamed the 20-byte header)
"$IOSIM_TRACE" convert "$SRC/traces/redis-lazy.zst" --format v1 -o "$WORK/v1.zst" || fail "convert to v1"
head -c 300 "$WORK/v1.zst" > "$WORK/cut.zst"
expect_bad_input "cut.zst: truncated after 0 records (the file ends inside the first zstd block, after 300 compressed bytes" "$WORK/cut.zst"
# format v2 (FORMAT.md §8.6): a block cut short, a wrong block checksum, an
# index entry that disagrees with its block; the offsets are read from the
# footer and the index (§8.5), not from the program
"$IOSIM_TRACE" convert "$SRC/traces/redis-lazy.zst" -o "$WORK/v2.zst" || fail "convert to v2"
le() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '; } # FILE OFFSET BYTES
n=$(stat -c %s "$WORK/v2.zst"); nb=$(le "$WORK/v2.zst" $((n - 8)) 4)
x=$((n - 32 - 16 * nb))                  # the index frame
off=$(le "$WORK/v2.zst" $((x + 16)) 8)   # block 0's header frame
fl=$(le "$WORK/v2.zst" $((x + 24)) 4)    # block 0's zstd frame length
nr=$(le "$WORK/v2.zst" $((x + 28)) 4)    # its records
[ "$nb" -ge 2 ] || fail "redis-lazy.zst as v2 has $nb blocks, want 2 or more"
head -c $((off + 16 + fl / 2)) "$WORK/v2.zst" > "$WORK/v2cut.zst"
expect_bad_input "v2cut.zst: truncated after 0 records (the file ends inside block 0, after $((fl / 2)) of its $fl bytes)" "$WORK/v2cut.zst"
poke() { # FILE OFFSET: adds 1 to the byte there
    printf "\\$(printf %03o $((($(le "$1" "$2" 1) + 1) % 256)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$WORK/v2.zst" "$WORK/v2sum.zst"
poke "$WORK/v2sum.zst" $((off + 16 + fl - 1)) # last byte of the checksum
expect_bad_input "v2sum.zst: block 0 (records 0 to $((nr - 1))): wrong checksum" "$WORK/v2sum.zst"
cp "$WORK/v2.zst" "$WORK/v2idx.zst"
poke "$WORK/v2idx.zst" $((x + 28))           # low byte of block 0's count
bad=$(( (nr & ~255) | ((nr + 1) & 255) ))
expect_bad_input "v2idx.zst: bad index: entry 0 says offset $off, $fl bytes, $bad records" "$WORK/v2idx.zst"
# a rule across keys broken by a --set value names --set
expect_bad_input "--set vtd.iotlb.sets: 3 is not a power of two" --set vtd.iotlb.sets=3 "$TRACE"
# a full disk is exit 2 in both programs (was 1 from iosim and to-text),
# with one line naming what could not be written and why
full() { # WANT COMMAND...: exit 2, stderr one line with WANT
    local want=$1 rc
    shift
    "$@" 2> "$WORK/full.err"; rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l < "$WORK/full.err")" -eq 1 ] &&
        grep -qF -- "$want: No space left on device" "$WORK/full.err" ||
        fail "$* (full disk): exit $rc, '$(cat "$WORK/full.err")', want '$want: No space...'"
}
if [ -c /dev/full ]; then
    full "iosim: /dev/full: cannot write" "$IOSIM" --no-progress -o /dev/full "$TRACE"
    full "iosim: stdout: cannot write" sh -c '"$1" --no-progress "$2" > /dev/full' - "$IOSIM" "$TRACE"
    full "iosim-trace: /dev/full: write failed" "$IOSIM_TRACE" to-text "$TRACE" -o /dev/full
    full "iosim-trace: stat: cannot write the report" sh -c '"$1" stat "$2" > /dev/full' - "$IOSIM_TRACE" "$TRACE"
    full "iosim-trace: /dev/full: write failed" "$IOSIM_TRACE" gen random --count 10 -o /dev/full
    # every command that writes its result on stdout (iotlb-sweep exited 1
    # after its note; pcap, --list, --help-config, --list-stats, --version
    # and every --help exited 0 having written nothing)
    tostdout() { "$@" > /dev/full; }
    full "iosim iotlb-sweep: stdout: cannot write" tostdout "$IOSIM" iotlb-sweep --sets 1,2 --ways 4 "$TRACE"
    full "iosim-trace pcap: stdout: cannot write" tostdout "$IOSIM_TRACE" pcap "$SRC/tests/data/slirp-nginx-head.pcap"
    full "iosim-trace pcap: stdout: cannot write" tostdout "$IOSIM_TRACE" pcap --segments "$SRC/tests/data/slirp-nginx-head.pcap"
    for opt in --list --help-config --list-stats --version --help; do
        full "iosim: stdout: cannot write" tostdout "$IOSIM" "$opt"
    done
    full "iosim sweep: stdout: cannot write" tostdout "$IOSIM" sweep --help
    full "iosim-trace: stdout: cannot write" tostdout "$IOSIM_TRACE" --help
    full "iosim-trace: stdout: cannot write" tostdout "$IOSIM_TRACE" gen random --help
fi
finish
