#!/usr/bin/env bash
# pcap_slirp.sh — iosim-trace pcap: libslirp's answer to each guest TCP
# segment of a QEMU filter-dump (tests/data/slirp-nginx-head.pcap, the
# first 48 frames of a real user-networking capture).  The counts were
# read from the file with tcpdump (`tcpdump -e -nn -r`: 22 frames from the
# guest's MAC, 16 of them TCP; 5 SYN-ACKs, 3 responses that acknowledge
# nothing new, 2 FINs in ESTABLISHED, 1 FIN in FIN_WAIT_2 are answered at
# once: each is followed in the pcap by libslirp's segment of its
# connection, and no other guest segment is); the zstd form gives the same
# output; bad input is one line naming the file and frame, exit 2, nothing
# on stdout.
. "${SRC:?}/tests/cli/lib/common.sh"
IN="$SRC/tests/data/slirp-nginx-head.pcap"
"$IOSIM_TRACE" pcap "$IN" > "$WORK/sum.txt" 2> "$WORK/err" || fail "pcap: exit $?"
for kv in "frames = 48" "guest_frames = 22" "guest_tcp = 16" "answered_in_element = 11" \
          "answer.none = 5" "answer.syn = 5" "answer.data = 3" "answer.fin = 2" "answer.reass = 1"; do
    grep -qx "$kv" "$WORK/sum.txt" || fail "summary lacks '$kv'"
done
zstd -q -c "$IN" > "$WORK/head.pcap.zst"
"$IOSIM_TRACE" pcap "$WORK/head.pcap.zst" | cmp -s - "$WORK/sum.txt" || fail "zstd form differs"
"$IOSIM_TRACE" pcap "$IN" --segments > "$WORK/seg.txt" || fail "--segments"
# frame 5: the guest's SYN-ACK to the control connection (tcpdump line 6)
grep -qx '5 3 1796656102142927000 10.0.2.15:7777>10.0.2.2:44066 SA 0 syn' "$WORK/seg.txt" ||
    fail "frame 5 listed wrong: $(grep '^5 ' "$WORK/seg.txt")"
# bad input: cut inside frame 3's record header (24 + 3 x 16 + 90 + 86 + 42 =
# 290 bytes before it: MLD report, neighbour solicitation, ARP request)
head -c 300 "$IN" > "$WORK/cut.pcap"
rc=0; "$IOSIM_TRACE" pcap "$WORK/cut.pcap" > "$WORK/out" 2> "$WORK/err" || rc=$?
[ $rc = 2 ] || fail "cut pcap: exit $rc, want 2"
[ "$(wc -l < "$WORK/err")" = 1 ] && grep -q 'cut.pcap: frame 3 (byte 290): truncated record header' "$WORK/err" ||
    fail "cut pcap: message '$(cat "$WORK/err")'"
[ -s "$WORK/out" ] && fail "cut pcap: output written"
printf 'not a pcap at all, longer than 24 bytes\n' > "$WORK/bad.pcap"
rc=0; "$IOSIM_TRACE" pcap "$WORK/bad.pcap" > "$WORK/out" 2> "$WORK/err" || rc=$?
[ $rc = 2 ] && grep -q 'bad.pcap: not a pcap file' "$WORK/err" || fail "bad magic: exit $rc, '$(cat "$WORK/err")'"
# import qemu --pcap: bad input is one line, exit 2, no trace written; a
# dump of another run (the Redis capture's, 20 s later) does not line up
# with the nginx log's translations and is refused
Q="$SRC/traces/raw/nginx-strict-pcap-qemu-trace"
imp() { "$IOSIM_TRACE" import qemu "$Q/qemu-trace.log.zst" --guest "$Q/trace.txt.zst" \
            --pcap "$1" -o "$WORK/imp.zst" --workload nginx --policy strict > /dev/null 2> "$WORK/err"; }
for bad in "$WORK/cut.pcap:cut.pcap: frame 3 (byte 290): truncated" \
           "$WORK/bad.pcap:bad.pcap: not a pcap file" \
           "$SRC/traces/raw/redis-strict-pcap-qemu-trace/net.pcap.zst:do not line up with the translations"; do
    rm -f "$WORK/imp.zst"
    rc=0; imp "${bad%%:*}" || rc=$?
    [ $rc = 2 ] && [ "$(wc -l < "$WORK/err")" = 1 ] && grep -q "${bad#*:}" "$WORK/err" &&
        [ ! -e "$WORK/imp.zst" ] || fail "import --pcap ${bad%%:*}: exit $rc, '$(cat "$WORK/err")'"
done
# a QEMU log without time stamps (no -msg timestamp=on): nothing to
# measure the dump's clock against; qsort was given the NULL of no times
# (undefined behaviour: the sanitizer build stopped, exit 1, no line)
rm -f "$WORK/imp.zst"
"$IOSIM_TRACE" import qemu "$SRC/tests/data/qemu-redis-strict.log" \
    --guest "$SRC/tests/data/ftrace-redis-strict-qemu-guest.txt" --pcap "$IN" \
    -o "$WORK/imp.zst" > /dev/null 2> "$WORK/err"
rc=$?
[ $rc = 2 ] && [ "$(cat "$WORK/err")" = "iosim-trace import: $SRC/tests/data/qemu-redis-strict.log: no time-stamped translation to join the pcap with (-msg timestamp=on)" ] &&
    [ ! -e "$WORK/imp.zst" ] || fail "import --pcap, log without times: exit $rc, '$(cat "$WORK/err")'"
# import's usage shows the dump as optional (a capture over a tap has none)
# and the guest's ftrace, which qemu_validate requires, bare
"$IOSIM_TRACE" import --help > "$WORK/help" 2>&1
grep -q 'import qemu QEMU_LOG --guest FTRACE_TXT \[--pcap PCAP\] -o OUT.zst' "$WORK/help" ||
    fail "import --help: $(grep 'import qemu' "$WORK/help")"
finish
