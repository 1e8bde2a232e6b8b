#!/usr/bin/env bash
# touch_identity.sh — device models did not change what iosim computed
# before them: under dev.model touch and the timing settings
# iosim had before (vtd.timing serial, vtd.max_walks 1, vtd.max_outstanding
# 0) every shipped trace gives, under configs/vtd.yaml and
# configs/qemu-guest.yaml, the report it gave then, byte for byte outside
# the [config] echo (whose keys were renamed: sim.dma_* -> dev.*) and the
# [warning] block (input warnings, added since), the # command: and
# # provenance: lines (where the report came from, added since) and the
# summary's fands_gbps line (a derived metric added since).  The
# checksums in tests/data/identity/touch-serial.md5 were taken with the
# binary of commit 8ce233c (before sim/dev/ existed) and its configs, run
# with --set sim.dma_model=touch: an independent route, not this code's
# output.  The six user-networking QEMU captures re-imported with one MAP
# per pre-trace buffer (2a76075) were re-checked the same way: 8ce233c's
# binary on their v1 form (iosim-trace convert --format v1; the old binary
# reads no v2), its checksums put in the file; so was nginx-strict when
# the tie rule's exact search re-imported it (issue 20 follow-up: its
# vtd.yaml row moved, dma.walk_wait_ns 601 ns less; qemu-guest.yaml's
# did not).
# The -pcap- re-captures (issue 20) have no rows (8ce233c's binary predates
# them and the --pcap fields); the rows of the captures they replaced were
# removed with those traces (8 rows for memcached-strict, redis-strict-sm,
# -q10, -fs).
. "${SRC:?}/tests/cli/lib/common.sh"
while read -r want trace cfg; do
    got=$("$IOSIM" --config "$SRC/configs/$cfg" --no-progress \
            --set dev.model=touch --set vtd.timing=serial --set vtd.max_walks=1 \
            --set vtd.max_outstanding=0 "$SRC/traces/$trace" 2>&1 |
          awk '/^# (command|provenance): /{next} /^fands_gbps /{next}
               /^\[(config|warning)\]/{skip=1; next} /^\[/{skip=0} !skip' |
          md5sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "$trace $cfg: report differs from before device models"
done < "$SRC/tests/data/identity/touch-serial.md5"
n=$(wc -l < "$SRC/tests/data/identity/touch-serial.md5")
[ "$n" -ge 26 ] || fail "only $n checksums"
finish "$n reports identical"
