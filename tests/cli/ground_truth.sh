#!/usr/bin/env bash
# Ground truth: replaying the shipped real captures with the config that
# describes the captured setup (configs/qemu-guest.yaml: QEMU 7.2
# intel-iommu, caching mode on, Linux 6.1 without QI batching) must
# predict the invalidations the guest kernel logged (intel_iommu:qi_submit
# records, counted by the importer as trace.inval_*).
#  - strict, caching mode on: one PSI per map (cache_tag_flush_range_np
#    under CM, MODEL.md §1.6.4) + PSI and devTLB per unmap (§1.6.3): exact.
#  - strict, caching mode off: PSI + devTLB per unmap only: exact.
#  - lazy, caching mode off: one DSI + devTLB-all per flush-queue flush; the
#    count depends on the timer, whose period is msecs_to_jiffies(10) = 3
#    jiffies at HZ=250 plus up to one jiffy of timer-wheel slack, so the
#    logged count must lie between the model's counts with 0 and 1 jiffy
#    of slack (MODEL.md §1.4), widened by 10% downwards: under TCG load the
#    timer softirq is sometimes deferred (arm-to-flush p90 is 20-22 ms and
#    the maximum 115-254 ms in the memcached and nginx captures, against
#    16 ms nominal), which delays flushes and the model does not know.
#  - lazy over time: per 100 ms epoch (iosim --epoch), see below.
#  - QEMU's own IOTLB misses on the same translations: the end.
. "${SRC:?}/tests/cli/lib/common.sh"
cfg=$SRC/configs/qemu-guest.yaml

check_exact() { # trace label extra-set...
    local trace=$1 label=$2; shift 2
    local out=$WORK/$label.csv
    "$IOSIM" --config "$cfg" "$@" --format csv --no-progress \
        "$SRC/traces/$trace" > "$out" || { fail "$label: iosim failed"; return; }
    local p=$(awk -F, '$1=="stat"{print $2; exit}' "$out")
    # piotlb: the PASID-based part of iotlb (first-stage domains; 0 = 0
    # for the legacy captures)
    for kind in iotlb devtlb piotlb; do
        local want=$(csv_value "$out" stat "$p" trace.inval_$kind)
        local got=$(csv_value "$out" stat "$p" os.inval_$kind)
        [ -n "$want" ] && { [ "$want" -gt 0 ] || [ $kind = piotlb ]; } ||
            fail "$label: no logged $kind invalidations"
        [ "$got" = "$want" ] || fail "$label: os.inval_$kind=$got, kernel logged $want"
        echo "$label $kind: model $got kernel $want"
    done
}
# First-stage domains (traces/redis-strict-fs-pcap-qemu.zst: Linux 6.1 behind
# QEMU 10.0's x-flts, caching mode on): PASID-based IOTLB descriptors,
# none after a map (caching mode covers second-stage tables only), and
# caching mode does not force strict.
FS=(--set vtd.root_mode=scalable --set vtd.translation=first-stage)
check_exact redis-strict.zst redis-strict --set os.policy=strict
check_exact memcached-strict.zst memcached-strict --set os.policy=strict
check_exact nginx-strict.zst nginx-strict --set os.policy=strict
check_exact redis-strict-cm-off.zst redis-strict-cm-off --set os.policy=strict \
    --set vtd.caching_mode=false
# Linux forces strict under caching mode: lazy requested = strict logged
check_exact redis-strict.zst redis-lazy-forced --set os.policy=lazy
check_exact redis-strict-fs-pcap-qemu.zst redis-strict-fs --set os.policy=strict "${FS[@]}"
[ "$(csv_value "$WORK/redis-strict-fs.csv" stat strict trace.inval_piotlb)" -gt 1000 ] ||
    fail "redis-strict-fs: the kernel's first-stage descriptors are not P_IOTLB"

# lazy, caching mode off: bracket the flush count
check_lazy() { # trace devtlb-per-flush extra-set...
    local t=$1 b=${1%.zst} dt=$2; shift 2
    for slack in 0 1; do
        "$IOSIM" --config "$cfg" --set os.policy=lazy --set vtd.caching_mode=false \
            --set os.fq_timer_slack_jiffies=$slack "$@" --format csv --no-progress \
            "$SRC/traces/$t" > "$WORK/$b-$slack.csv" || fail "$b slack $slack failed"
    done
    local logged=$(csv_value "$WORK/$b-0.csv" stat lazy trace.inval_iotlb)
    local hi=$(csv_value "$WORK/$b-0.csv" stat lazy os.fq_flushes)
    local lo=$(csv_value "$WORK/$b-1.csv" stat lazy os.fq_flushes)
    echo "$b flushes: kernel $logged, model $lo (slack 1) .. $hi (slack 0), accepted from 90% of $lo"
    [ "$logged" -gt 0 ] || fail "$b: no logged flushes"
    local lo90=$((lo * 9 / 10))
    [ "$lo90" -le "$logged" ] && [ "$logged" -le "$hi" ] || fail "$b: $logged outside [$lo90, $hi]"
    # each flush is one IOTLB (domain-selective) + $dt devTLB descriptor,
    # as the kernel's
    [ "$(csv_value "$WORK/$b-1.csv" stat lazy os.inval_iotlb)" = "$lo" ] || fail "$b: iotlb descriptors != flushes"
    [ "$(csv_value "$WORK/$b-1.csv" stat lazy os.inval_devtlb)" = "$((lo * dt))" ] ||
        fail "$b: devtlb descriptors != $dt per flush"
    [ "$(csv_value "$WORK/$b-0.csv" stat lazy trace.inval_devtlb)" = "$((logged * dt))" ] ||
        fail "$b: the kernel's devtlb descriptors are not $dt per flush"
}
check_lazy redis-lazy.zst 1
check_lazy memcached-lazy.zst 1
check_lazy nginx-lazy.zst 1
# A first-stage guest under caching mode stays lazy (no "IOMMU batching
# disallowed due to virtualization", dmesg of the capture) and Linux 6.1's
# intel_flush_iotlb_all skips the devTLB under caching mode
# (configs/qemu-guest.yaml os.flush_all_devtlb_cm false): one PASID-
# selective P_IOTLB per flush, no devTLB descriptor.
check_lazy redis-lazy-fs-qemu.zst 0 --set vtd.caching_mode=true "${FS[@]}"

# lazy, over time: per 100 ms of trace time (iosim --epoch) the model's
# flushes (os.inval_iotlb) against the kernel's logged DSIs in the same
# epoch (trace.inval_iotlb).  The totals above say the timer period is
# right on average; this says the flushes happen when the kernel's did
# (the queue fills and the timer arms on the same unmaps).  Tolerance,
# chosen here: within 1 flush in at least 90% of the epochs (a 16 ms
# timer gives 6 to 7 flushes per epoch, so a phase shift alone moves one
# flush across a border).  The slack jiffy was calibrated on the redis
# capture's total count, not on this; memcached and nginx are not
# calibrated on at all.  Measured: redis 100%, memcached 94%, nginx 93%
# (the rest: TCG deferring the timer softirq, see the top).
check_lazy_epochs() { # trace
    local t=$1 b=${1%.zst}
    "$IOSIM" --config "$cfg" --set os.policy=lazy --set vtd.caching_mode=false \
        --no-progress --epoch 100ms --epoch-out "$WORK/$b-ep.csv" \
        "$SRC/traces/$t" > /dev/null || { fail "$b epochs failed"; return; }
    local r
    r=$(awk -F, 'NR==1 { for (i=1;i<=NF;i++) { if ($i=="trace.inval_iotlb") k=i
                                              if ($i=="os.inval_iotlb") m=i }; next }
                 { n++; d=$m-$k; if (d<0) d=-d; if (d<=1) ok++; kt+=$k }
                 END { printf "%d %d %d", n, ok, kt }' "$WORK/$b-ep.csv")
    set -- $r
    echo "$b flush timing: $2 of $1 epochs of 100 ms within 1 flush of the kernel's ($3 logged)"
    [ "$1" -ge 50 ] && [ "$3" -gt 0 ] || fail "$b: only $1 epochs / $3 flushes"
    [ $(( $2 * 10 )) -ge $(( $1 * 9 )) ] || fail "$b: flush timing off in more than 10% of epochs"
}
check_lazy_epochs redis-lazy.zst
check_lazy_epochs memcached-lazy.zst
check_lazy_epochs nginx-lazy.zst

# QEMU's own IOTLB on the device's real translations.  The strict QEMU
# captures (traces/redis-strict-pcap-qemu.zst, nginx-strict-pcap-qemu.zst
# and memcached-strict-pcap-qemu.zst, from scripts/capture/run --qemu-trace)
# hold the device's real translations (QEMU's vtd_dmar_translate) and, as
# ref.iotlb.*, QEMU's own hit/miss outcome of those same translations
# (vtd_iotlb_page_hit / vtd_iotlb_page_update, counted by the importer).
# configs/qemu-virtio.yaml models QEMU 7.2's IOTLB: 1024 entries, flushed
# when full (never reached), PSIs as QEMU < 9.1 did them
# (psi_iotlb_scope=qemu-mask8: its 8-bit mask aliases pages 1 MB apart).
# Replayed with the kernel's own descriptors (os.policy=trace) the model
# must miss where QEMU did, except the first accesses to virtqueue-ring
# pages QEMU had cached before the guest's trace began (its log shows hits
# on them; the model starts empty; redis 4, nginx 4, memcached 4):
# tolerance 0 to +4
# misses.  With the invalidations re-derived from map/unmap (os.policy=
# strict) the importer's explicit MAPs of pages mapped before the trace
# add caching-mode PSIs the guest issued earlier: tolerance 0 to +10.  The
# spec's minimum PSI (page scope) must fail the same check (it misses 42,
# 112 and 31 times less): the test discriminates.  QEMU 10.0 (the q10 and
# fs captures) has the fixed mask: there the page scope must pass and the
# 8-bit one fail (22 and 18 misses more).
check_qemu_iotlb() { # trace label lo hi extra-set...
    local trace=$1 label=$2 lo=$3 hi=$4; shift 4
    local out=$WORK/qemu-${trace%.zst}-$label.csv
    "$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
        "$@" --format csv --no-progress "$SRC/traces/$trace" \
        > "$out" || { fail "$trace $label: iosim failed"; return 1; }
    local p=$(awk -F, '$1=="stat"{print $2; exit}' "$out")
    local lookups=$(csv_value "$out" stat "$p" iotlb.lookups)
    local misses=$(csv_value "$out" stat "$p" iotlb.misses)
    # the report carries the trace's reference counts (section ref), the
    # same as iosim-trace stat reads from the header
    local ref_lookups=$(awk -F, '$1=="reference" && $3=="iotlb.lookups" {print $4}' "$out")
    local ref_misses=$(awk -F, '$1=="reference" && $3=="iotlb.misses" {print $4}' "$out")
    local st=$("$IOSIM_TRACE" stat "$SRC/traces/$trace" |
               awk '$1=="meta.ref.iotlb.misses"{print $3}')
    [ -n "$ref_misses" ] && [ "$ref_misses" -gt 1000 ] && [ "$st" = "$ref_misses" ] ||
        { fail "$trace: ref.iotlb.misses report '$ref_misses' stat '$st'"; return 1; }
    echo "qemu IOTLB $trace $label: model $misses misses of $lookups, QEMU $ref_misses of $ref_lookups"
    [ "$lookups" = "$ref_lookups" ] || { fail "$trace $label: $lookups lookups"; return 1; }
    local d=$(( misses - ref_misses ))
    [ "$d" -ge "$lo" ] && [ "$d" -le "$hi" ]
}
# VM exits, from the hypervisor's side.  The same traces carry as
# ref.hv.vmexits the guest's queue-tail writes QEMU trapped
# (vtd_inv_qi_tail before a guest descriptor): one per descriptor (6,578,
# 13,715 and 6,556), so QEMU confirms that Linux 6.1 submits every descriptor on
# its own (configs/qemu-guest.yaml os.strict_batch 1).  Under the emulated
# vIOMMU the model's hv.vmexits must equal it with the kernel's
# descriptors; with strict re-derived it must exceed it by exactly the
# IOTLB descriptors the model issued and the kernel did not log
# (os.inval_iotlb - trace.inval_iotlb: the caching-mode PSIs of the
# importer's explicit MAPs); Linux >= 6.12's batching (16) must not match.
vmexits() { # trace extra-set... -> "ref model os.inval_iotlb trace.inval_iotlb"
    local trace=$1; shift
    "$IOSIM" --config "$cfg" --set sim.window_only=false "$@" --format csv \
        --no-progress "$SRC/traces/$trace" |
        awk -F, '$1=="reference" && $3=="hv.vmexits" {r=$4}
                 $1=="stat" && $3=="hv.vmexits" {m=$4}
                 $1=="stat" && $3=="os.inval_iotlb" {o=$4}
                 $1=="stat" && $3=="trace.inval_iotlb" {t=$4}
                 END {print r+0, m+0, o+0, t+0}'
}
# The e1000e capture (an emulated Intel 82574, no ATS: vtd.ats=false for
# the emulated-vIOMMU runs, so that strict re-derived issues no devTLB
# descriptors; configs/qemu-virtio.yaml has none anyway) touches few pages
# near each other: there the page-exact PSI is within 1 miss too (2,067
# against 2,068) and is not used to discriminate; outcome by outcome it
# still differs more (below).
# The scalable-mode capture (QEMU x-scalable-mode=on: scalable-mode root,
# context and PASID tables, second-stage translation; same IOTLB) is
# replayed with vtd.root_mode=scalable.  The QEMU 10.0 captures (fixed
# 64-bit PSI mask since 9.1) must match the spec's page-exact PSI and not
# QEMU 7.2's 8-bit one; the first-stage one (fs: x-flts) has P_IOTLB
# descriptors and first-stage tables (vtd.translation=first-stage).
for entry in redis-strict-pcap-qemu.zst:virtio:legacy:qemu-mask8 \
             nginx-strict-pcap-qemu.zst:virtio:legacy:qemu-mask8 \
             memcached-strict-pcap-qemu.zst:virtio:legacy:qemu-mask8 \
             redis-strict-e1000e-qemu.zst:e1000e:legacy:qemu-mask8 \
             redis-strict-sm-pcap-qemu.zst:virtio:scalable:qemu-mask8 \
             redis-strict-q10-pcap-qemu.zst:virtio:legacy:page \
             redis-strict-fs-pcap-qemu.zst:virtio:fs:page; do
    IFS=: read -r trace nic root scope <<< "$entry"
    ats=true; [ "$nic" = e1000e ] && ats=false
    other=page; [ $scope = page ] && other=qemu-mask8
    case $root in
    fs) mode=("${FS[@]}") ;;
    *)  mode=(--set vtd.root_mode=$root) ;;
    esac
    mode+=(--set vtd.psi_iotlb_scope=$scope)
    check_qemu_iotlb $trace trace 0 4 "${mode[@]}" --set os.policy=trace ||
        fail "$trace IOTLB, kernel's descriptors: outside [0, +4] misses of QEMU's"
    # scalable mode reads the PASID table (one PASID-cache fill); legacy none
    pc=$(awk -F, '$1=="stat" && $3=="pasidcache.misses" {print $4}' \
         "$WORK/qemu-${trace%.zst}-trace.csv")
    case $root:$pc in legacy:0|scalable:[1-9]*|fs:[1-9]*) ;;
    *) fail "$trace: $root mode with pasidcache.misses '$pc'" ;; esac
    check_qemu_iotlb $trace strict 0 10 "${mode[@]}" --set os.policy=strict ||
        fail "$trace IOTLB, strict re-derived: outside [0, +10] misses of QEMU's"
    if [ "$nic" = virtio ] && check_qemu_iotlb $trace other-psi 0 10 "${mode[@]}" \
            --set os.policy=strict --set vtd.psi_iotlb_scope=$other; then
        fail "$trace IOTLB: PSI scope $other also matches: the check does not discriminate"
    fi
    set -- $(vmexits $trace "${mode[@]}" --set os.policy=trace)
    echo "$trace vm exits, kernel's descriptors: model $2, QEMU trapped $1"
    [ "$1" = "$2" ] && [ "$1" -gt 1000 ] || fail "$trace vm exits (trace): model $2 QEMU $1"
    set -- $(vmexits $trace "${mode[@]}" --set os.policy=strict --set vtd.ats=$ats)
    echo "$trace vm exits, strict re-derived: model $2, QEMU trapped $1, extra PSIs $(( $3 - $4 ))"
    [ "$1" -gt 1000 ] && [ "$(( $2 - $1 ))" = "$(( $3 - $4 ))" ] &&
        [ "$(( $3 - $4 ))" -lt 400 ] ||
        fail "$trace vm exits (strict): model $2 QEMU $1, extra PSIs $(( $3 - $4 ))"
    # (without a device-TLB an unmap submits one descriptor either way:
    # batching cannot show on the e1000e capture)
    [ "$nic" = e1000e ] && continue
    set -- $(vmexits $trace "${mode[@]}" --set os.policy=strict --set vtd.ats=$ats \
             --set os.strict_batch=16 --set vtd.iq_batch_max=16)
    [ "$1" -gt 1000 ] && [ "$(( $2 - $1 ))" != "$(( $3 - $4 ))" ] ||
        fail "$trace vm exits: batching 16 also matches QEMU ($2): the check does not discriminate"
done
# The lazy QEMU captures: traces/redis-lazy-qemu.zst (caching mode off)
# and traces/redis-lazy-fs-qemu.zst (QEMU 10.0, first-stage, caching mode
# on, which does not force strict there): their invalidations are the
# flush queue's domain-wide flushes.  With the kernel's descriptors the
# model's misses must be QEMU's (0 to +4, as above; measured 2,593 =
# 2,593 and 1,669 = 1,669) and its VM exits QEMU's trapped tail writes
# (94: a DSI and a devTLB flush per flush, each its own submission; 49:
# one P_IOTLB per flush, no devTLB under caching mode in Linux 6.1).
# Re-derived by the lazy policy, the flushes come from the modeled 10 ms
# timer, whose firing TCG delays (see the top): tolerance 10% of QEMU's
# misses, chosen here (measured -6.8%: 45 flushes against 47 logged;
# -5.6%: 47 against 49).
check_qemu_lazy() { # trace extra-set...
    local lz=$1; shift
    check_qemu_iotlb $lz trace 0 4 --set os.policy=trace "$@" ||
        fail "$lz IOTLB, kernel's descriptors: outside [0, +4] misses of QEMU's"
    local tol=$(awk -F, '$1=="reference" && $3=="iotlb.misses" {print int($4 / 10)}' \
          "$WORK/qemu-${lz%.zst}-trace.csv")
    check_qemu_iotlb $lz lazy "-${tol:-0}" "${tol:-0}" --set os.policy=lazy "$@" ||
        fail "$lz IOTLB, lazy re-derived: outside +-10% of QEMU's misses"
    set -- $(vmexits $lz --set os.policy=trace "$@")
    echo "$lz vm exits, kernel's descriptors: model $2, QEMU trapped $1"
    [ "$1" = "$2" ] && [ "$1" -gt 40 ] || fail "$lz vm exits (trace): model $2 QEMU $1"
}
check_qemu_lazy redis-lazy-qemu.zst --set vtd.caching_mode=false
check_qemu_lazy redis-lazy-fs-qemu.zst --set vtd.caching_mode=true "${FS[@]}" \
    --set vtd.psi_iotlb_scope=page

# Linux 6.12 captures (traces/manifest.tsv rows whose kernel is 6.12.*:
# Debian's 6.12.95 guest, same QEMU 7.2 setup, traces/*-612*.zst).  The
# same config: os.kernel auto takes 6.12 from each trace's metadata
# (sim/os/os_kernel.c), so a strict unmap is one submission of a PSI and a
# devTLB descriptor (cache_tag_flush_range, qi_batch), a map under caching
# mode one of a PSI (cache_tag_flush_range_np), a lazy flush one of a DSI
# and a whole-device devTLB (cache_tag_flush_all).
#  - strict: the logged IOTLB and devTLB descriptors exactly, and one
#    submission per IOTLB descriptor (each batch holds exactly one);
#  - lazy (caching mode off): the flush count within the timer's bound as
#    above, one submission per flush;
#  - the lazy --qemu-trace capture: QEMU's misses and trapped tail writes
#    as for the 6.1 one (check_qemu_lazy), one tail write per flush;
#  - the strict --qemu-trace captures (user networking, and over a host
#    tap device: -tap-nooffload): QEMU's own IOTLB misses (0 to +4 with the
#    kernel's descriptors, QEMU 7.2's 8-bit PSI mask) and its trapped
#    queue-tail writes: strict re-derived exceeds them by exactly the IOTLB
#    descriptors the kernel did not log (the caching-mode PSIs of the
#    importer's explicit MAPs), as on 6.1; with 6.1's one descriptor per
#    submission (os.kernel=6.1) it must not.
# A capture the manifest lists must be there.
k612=$(awk -F'\t' 'NR==1 { for (i = 1; i <= NF; i++) if ($i == "kernel") k = i; next }
                   $k ~ /^6\.12\./ { print $1 }' "$SRC/traces/manifest.tsv")
for cap in $k612; do
    t=${cap%-qemu-trace}
    [ "$t" != "$cap" ] && t=$t-qemu
    [ -f "$SRC/traces/$t.zst" ] || { fail "$cap: traces/$t.zst missing"; continue; }
    case $t in
    *-passthrough-612) ;;
    *-strict-612)
        check_exact $t.zst $t --set os.policy=strict
        out=$WORK/$t.csv
        [ "$(awk -F, '$1=="config" && $2=="" && $3=="os.kernel" {print $4}' "$out")" = 6.12 ] ||
            fail "$t: os.kernel auto did not resolve to 6.12"
        [ "$(csv_value "$out" stat strict os.inval_submits)" = "$(csv_value "$out" stat strict trace.inval_iotlb)" ] ||
            fail "$t: submissions $(csv_value "$out" stat strict os.inval_submits) != IOTLB descriptors"
        ;;
    *-lazy-612)
        check_lazy $t.zst 1
        [ "$(csv_value "$WORK/$t-1.csv" stat lazy os.inval_submits)" = "$(csv_value "$WORK/$t-1.csv" stat lazy os.fq_flushes)" ] ||
            fail "$t: not one submission per flush"
        ;;
    *-strict-612-qemu|*-strict-612-tap-nooffload-qemu)
        check_qemu_iotlb $t.zst trace 0 4 --set os.policy=trace ||
            fail "$t IOTLB, kernel's descriptors: outside [0, +4] misses of QEMU's"
        check_qemu_iotlb $t.zst strict 0 10 --set os.policy=strict ||
            fail "$t IOTLB, strict re-derived: outside [0, +10] misses of QEMU's"
        set -- $(vmexits $t.zst --set os.policy=strict)
        echo "$t vm exits, strict re-derived (6.12): model $2, QEMU trapped $1, extra PSIs $(( $3 - $4 ))"
        [ "$1" -gt 1000 ] && [ "$(( $2 - $1 ))" = "$(( $3 - $4 ))" ] &&
            [ "$(( $3 - $4 ))" -lt 400 ] ||
            fail "$t vm exits (strict): model $2 QEMU $1, extra PSIs $(( $3 - $4 ))"
        set -- $(vmexits $t.zst --set os.policy=strict --set os.kernel=6.1)
        [ "$(( $2 - $1 ))" != "$(( $3 - $4 ))" ] ||
            fail "$t vm exits: 6.1's one descriptor per submission also matches QEMU ($2)"
        ;;
    *-lazy-612-qemu)
        # caching mode off (the capture's); each flush one tail write of a
        # DSI and a devTLB descriptor (cache_tag_flush_all, qi_batch): the
        # kernel's descriptors give QEMU's count, 6.1's one-per-submission
        # twice it
        check_qemu_lazy $t.zst --set vtd.caching_mode=false
        set -- $(vmexits $t.zst --set os.policy=trace --set vtd.caching_mode=false \
                 --set os.kernel=6.1)
        [ "$1" -gt 40 ] && [ "$2" = "$(( 2 * $1 ))" ] ||
            fail "$t vm exits with 6.1's batching: model $2, want twice QEMU's $1"
        ;;
    *) fail "$cap: no check for this capture" ;;
    esac
done

# Outcome by outcome on the captures whose QEMU logs are in the repository
# (scripts/qemu-iotlb-check): iosim's own outcomes (--xlate-log of the
# qemu-virtio model with the kernel's descriptors), then QEMU's table
# re-implemented from its source; only the first accesses of ring pages
# QEMU had cached may differ (nginx 4, redis 4, memcached 4, e1000e 2, scalable
# mode 4, QEMU 10.0 4 and 4); the other PSI mask must differ more: QEMU
# 9.1's fixed 64-bit mask on the QEMU 7.2 captures (120, 50, 42, 5 and 35),
# 7.2's 8-bit one on the QEMU 10.0 captures (30 and 14).
differ() { # qemu-log trace [check options...] -> outcomes that differ
    local log=$1 tr=$2; shift 2
    local line
    line=$(IOSIM_TRACE=$IOSIM_TRACE python3 "$SRC/scripts/qemu-iotlb-check" \
           "$log" "$tr" --show 0 "$@") || { echo "FAILED"; return; }
    echo "$line" >&2
    echo "$line" | sed -n 's/.*outcomes differ at \([0-9]*\).*/\1/p'
}
for entry in nginx-strict-pcap:legacy:8 redis-strict-pcap:legacy:8 memcached-strict-pcap:legacy:8 \
             redis-strict-e1000e:legacy:8 redis-strict-sm-pcap:scalable:8 \
             redis-strict-q10-pcap:legacy:64 redis-strict-fs-pcap:fs:64; do
    IFS=: read -r c root bits <<< "$entry"
    q=$SRC/traces/raw/$c-qemu-trace/qemu-trace.log.zst
    tr=$SRC/traces/$c-qemu.zst
    scope=qemu-mask8 other=64; [ $bits = 64 ] && scope=page other=8
    case $root in
    fs) mode=("${FS[@]}") ;;
    *)  mode=(--set vtd.root_mode=$root) ;;
    esac
    "$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set sim.window_only=false \
        "${mode[@]}" --set vtd.psi_iotlb_scope=$scope \
        --set os.policy=trace --no-progress --xlate-log "$WORK/$c-xlate.csv" \
        "$tr" > /dev/null || fail "$c --xlate-log failed"
    n=$(differ "$q" "$tr" --iosim-log "$WORK/$c-xlate.csv")
    [ -n "$n" ] && [ "$n" != FAILED ] && [ "$n" -le 4 ] ||
        fail "$c: iosim vs QEMU: $n outcomes differ (at most 4)"
    n=$(differ "$q" "$tr" --mask-bits $bits)
    [ -n "$n" ] && [ "$n" != FAILED ] && [ "$n" -le 4 ] ||
        fail "$c: re-implementation vs QEMU: $n outcomes differ (at most 4)"
    no=$(differ "$q" "$tr" --mask-bits $other)
    [ -n "$no" ] && [ "$no" != FAILED ] && [ "$n" != FAILED ] && [ "$no" -gt "$n" ] ||
        fail "$c: the $other-bit mask fits as well ($no against $n differing)"
done
# The text report's [reference] table names the capture (workload, kernel
# and policy from the manifest's columns, read independently; source qemu:
# the trace is a QEMU import, traces/README.md), lists the columns that
# replay its policy, and says under which config each counter is
# comparable (traces/README.md)
col() { awk -F'\t' -v k="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==k) c=i} $1=="redis-strict-pcap-qemu-trace"{print $c}' "$SRC/traces/manifest.tsv"; }
pol=$(col policy) wl=$(col workload) kern=$(col kernel)
[ "$pol" = strict ] || fail "manifest: redis-strict-pcap-qemu-trace policy '$pol'"
[ -n "$wl" ] && [ -n "$kern" ] || fail "manifest: redis-strict-pcap-qemu-trace workload '$wl' kernel '$kern'"
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --compare lazy,$pol,passthrough --no-progress \
    "$SRC/traces/redis-strict-pcap-qemu.zst" > "$WORK/ref.txt" || fail "reference report failed"
line="# capture: source=qemu workload=$wl kernel=$kern policy=$pol; columns with os.policy=$pol:"
grep -qxF "$line $pol" "$WORK/ref.txt" ||
    fail "reference: capture line: $(grep -A1 '^\[reference\]' "$WORK/ref.txt" | tail -1)"
# no column replays the capture's policy: the line says so
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --compare lazy,passthrough --no-progress \
    "$SRC/traces/redis-strict-pcap-qemu.zst" > "$WORK/ref2.txt" || fail "reference report (no $pol) failed"
grep -qxF "$line none" "$WORK/ref2.txt" ||
    fail "reference: capture line without $pol: $(grep -A1 '^\[reference\]' "$WORK/ref2.txt" | tail -1)"
grep -q "^iotlb.misses  *2515 .*# QEMU's software IOTLB of the emulated device: configs/qemu-virtio.yaml" "$WORK/ref.txt" ||
    fail "reference: iotlb.misses row"
grep -q "^hv.vmexits  *6578 .*configs/qemu-guest.yaml" "$WORK/ref.txt" ||
    fail "reference: hv.vmexits row"
finish
