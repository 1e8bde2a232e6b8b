#!/usr/bin/env bash
# dev_ground_truth.sh — device models against real device accesses (issue
# 20): every shipped QEMU-merged capture carries QEMU's own record of each
# translation its emulated NIC made.  scripts/dev-check removes those DMA
# records, replays the guest's maps through the matching device model, and
# compares with the replay of the real accesses under the same config:
# IOTLB lookups within 10% and misses within 5% at fully associative LRU
# IOTLBs of 4, 8, 16, 64 and 1,024 entries.
#
# The virtio-net model writes each rx packet when it arrived
# (dev.virtio-net.rx_at=arrival, the default): at the time the trace
# records (the -pcap- captures: the frame's time in the netdev's dump, on
# its buffer's UNMAP), else a poll's first packet just after the guest's
# last map before the poll's first rx unmap, each later one as long before
# its unmap as the first (sim/dev/dev_virtio_net.c).
#
# Every row meets both tolerances but the KNOWN ones (NAME:ENTRIES:BOUND,
# a cell held to its own bound so that a regression still fails):
# redis-strict-qs1024-pcap-qemu at 4 entries (-5.2%, held to 6%): the
# capture with a 1,024-entry rx ring (7 pages) puts the rx used elems on
# pages of their own (0xffffd000, 0xffffe000) beside the desc and avail
# pages, so three rx ring pages and the two tx ones compete for 4
# entries, and the known tx gap (the model sends tx packets back to back
# more often than QEMU, scripts/access-diff: 279 vs 182 here, 155 vs 41
# on redis-strict-pcap-qemu, whose 4-entry cell is -3.7%) costs more
# misses; every page's translation count equals QEMU's but the tx ones
# (checked below).
# Four user-networking captures without the netdev's dump missed their
# 4-entry cells (memcached-strict-qemu -6.0%, redis-strict-sm-qemu -5.5%,
# redis-strict-q10-qemu -6.3%, redis-strict-fs-qemu -6.6%) and were held
# to 8% here; their re-captures with the dump (-pcap-, one run each,
# docs/dev-virtio-net.md) replace them below and pass every cell (4
# entries -2.3%, -1.1%, -2.0%, -1.2%, the rows below print them;
# memcached's was -3.1% before the model took a joined MAP for a tx
# buffer); the originals were retired.
# redis-strict-packed-qemu (with the dump) left the
# list at -4.7% (was -5.9%) when the model flushed a kicked tx before a
# packet that arrived after the kick and wrote pre-trace rx buffers at
# their recorded arrival (docs/dev-virtio-net.md, "tx flushes against rx
# arrivals").  All five met 5% until the importer made each pre-trace
# buffer over two pages one MAP, as the guest mapped it (import_qemu.c
# premap_join; 59-61 such buffers per capture, each checked against the
# guest's later UNMAP of the span): the model had taken each second page
# for a tx packet, whose ring and buffer accesses made up for 4-entry
# misses the model lacks; lookups came to within 3.4% on every capture.
# What was left on the dump-less four is the known one below (rx packets
# written between tx flushes: host timing, docs/dev-virtio-net.md "What is left"), which
# scripts/access-diff shows (tx packets right after the previous one with
# no rx access between, real vs model: redis-strict-pcap 41 vs 167 then,
# 155 now; for 109 of the 1,032 tx packets an rx packet arrived between
# the guest's kick, where the model pops, and QEMU's pop: the bottom
# half's delay, docs/dev-virtio-net.md "When the tx bottom half runs").  Two
# captures over QEMU's user networking made before the capture pipeline
# recorded the netdev's dump, nginx-strict-qemu and redis-strict-qemu,
# missed their 4-entry cells (-22.4%, -9.0%) and were retired (issue 20):
# which guest segments libslirp answers inside the tx flush, and when
# each rx frame arrives, is TCP state and timing that maps and unmaps do
# not show.  Their re-captures with the dump (-pcap-, below) carry both,
# libslirp's answers and the rx arrivals, and pass every cell.  The
# per-access dumps (iosim --dump-accesses, scripts/access-diff; checked
# below) show where those answers matter: on nginx QEMU writes most rx
# packets inside tx elements (libslirp ACKs a guest segment inside
# virtio_net_flush_tx: tcp_input, TF_ACKNOW for an in-sequence data
# segment that acks nothing new, a SYN-ACK, a FIN); on redis such replies
# are rare.  The same loads over a tap device (-tap-nooffload: the host's
# stack as the peer) meet every tolerance without a dump.
#
# Why arrival and not the unmap (checked below on the rows the unmap rule
# misses at 8 entries): QEMU writes several rx packets before the guest's
# NAPI poll unmaps the first, so their buffers sit in the IOTLB together
# and evict a ring page.  Moving each real rx buffer access to just before
# its unmap (scripts/rx-at-unmap; nothing else changed) brings the real
# 8-entry misses within 2% of rx_at=unmap's, which is more than 5% from
# the real ones.
. "${SRC:?}/tests/cli/lib/common.sh"
KNOWN="redis-strict-qs1024-pcap-qemu:4:0.06"
# dev-check keeps each trace's text form and the one without its DMA
# records in $TXT (NAME.txt, NAME-nodma.txt): the checks below read them
# again instead of converting the traces again.
TXT=$WORK/text
mkdir -p "$TXT"
run() { # dev-check args... -> rows appended to $WORK/rows (its exit
         # status says only whether the 25% bound held: checked below)
    IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" \
        --keep "$TXT" --misses-tol 0.25 "$@" > "$WORK/one" 2> "$WORK/err"
    [ $? -le 1 ] || fail "dev-check $*: $(cat "$WORK/err")"
    cat "$WORK/one" >> "$WORK/rows"
    cat "$WORK/one"
}
: > "$WORK/rows"
run e1000e "$SRC/traces/redis-strict-e1000e-qemu.zst"
# QEMU 7.2 captures (the model's defaults), guests on Linux 6.1 and 6.12
run virtio-net "$SRC/traces/memcached-strict-pcap-qemu.zst" "$SRC/traces/redis-lazy-qemu.zst" \
    "$SRC/traces/redis-strict-sm-pcap-qemu.zst" \
    "$SRC/traces/redis-strict-612-qemu.zst" "$SRC/traces/redis-lazy-612-qemu.zst" \
    "$SRC/traces/redis-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/nginx-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/memcached-strict-tap-nooffload-qemu.zst" \
    "$SRC/traces/redis-strict-612-tap-nooffload-qemu.zst" \
    "$SRC/traces/nginx-strict-pcap-qemu.zst" "$SRC/traces/redis-strict-pcap-qemu.zst" \
    "$SRC/traces/redis-strict-packed-qemu.zst" \
    "$SRC/traces/redis-strict-tap-qemu.zst" "$SRC/traces/redis-strict-tap-v16384-qemu.zst" \
    "$SRC/traces/redis-strict-tap-packed-qemu.zst" \
    "$SRC/traces/redis-strict-qs1024-pcap-qemu.zst"
# QEMU 10.0 captures: virtqueue_num_heads uses the shadow index (>= 8.2)
run --set dev.virtio-net.shadow_heads=true virtio-net \
    "$SRC/traces/redis-strict-q10-pcap-qemu.zst" "$SRC/traces/redis-strict-fs-pcap-qemu.zst" \
    "$SRC/traces/redis-lazy-fs-qemu.zst" "$SRC/traces/redis-strict-q10-tap-nooffload-qemu.zst"
# every row: lookups within 10%, misses within 5% unless KNOWN (then its bound)
n=$(awk -v known="$KNOWN" '
    BEGIN { n = split(known, k, /[[:space:]]+/)
            for (i = 1; i <= n; i++) { if (k[i] == "") continue
                                       m = split(k[i], f, ":")
                                       kn[f[1] ":" f[2]] = m > 2 ? f[3] : 0.25 } }
    $1 == "trace" { next }
    { rows++; el = $5 + 0; em = $8 + 0; key = $1 ":" $2
      sub(/  FAIL$/, "")
      if (el > 0.10 || el < -0.10) { print "FAIL: " key " lookups " $5; bad++ }
      lim = (key in kn) ? kn[key] : 0.05
      if (em > lim || em < -lim) { print "FAIL: " key " misses " $8; bad++ }
      else if ((key in kn) && em <= 0.05 && em >= -0.05) print "note: " key " now within 5%" }
    END { print "rows " rows; exit bad > 0 }' "$WORK/rows")
rc=$?
echo "$n"
[ $rc -eq 0 ] || fails=$((fails + 1))
echo "$n" | grep -qx 'rows 105' || fail "expected 105 rows"
# The capture with a 1,024-entry rx virtqueue (run --queue-size 1024;
# QEMU 7.2 keeps tx at 256 on a user netdev): the guest's ethtool -g and
# meta.tsv say rx=1024,tx=256, the import recorded both sizes in the
# trace's metadata, so the rows above replayed it with QEMU's layout of a
# 7-page ring (dev.virtio-net.rx_queue_size from the metadata).  Checked
# against QEMU's own translations per rx ring page (its DMA records):
# desc pages 0xffff8000..0xffffb000, avail and used from 0xffffc000, the
# used elems 248.. on 0xffffd000 and 760.. on 0xffffe000 (vring_size
# layout; elems 247 and 759 straddle a page and QEMU 7.2 translates only
# their first page, then faults at the used ring's own offsets 0x7c0 and
# 0x17c0: its log's vtd_dmar_fault, dev_virtio_net.c q_fill): every count
# equal.  Without the sizes (256, the default) lookups are far off.
q=redis-strict-qs1024-pcap-qemu
grep -q $'\trx=1024,tx=256$' "$SRC/traces/raw/$q-trace/meta.tsv" &&
    grep -q '^RX:[[:space:]]*1024$' "$SRC/traces/raw/$q-trace/ring-params.txt" ||
    fail "$q: meta.tsv / ring-params.txt do not say rx=1024,tx=256"
grep -qx '#meta implies.dev.virtio-net.rx_queue_size=1024' "$TXT/$q-nodma.txt" &&
    grep -qx '#meta implies.dev.virtio-net.tx_queue_size=256' "$TXT/$q-nodma.txt" ||
    fail "$q: no queue sizes in its metadata"
[ "$(zstd -dc "$SRC/traces/raw/$q-trace/qemu-trace.log.zst" |
     grep -c 'vtd_dmar_fault .* addr 0x\(7c0\|17c0\) write 1')" = 2 ] ||
    fail "$q: QEMU's log lacks the two faults of the straddling used elems"
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace --set sim.window_only=false \
    --set dev.model=virtio-net --dump-accesses "$WORK/qs-acc.csv" "$TXT/$q-nodma.txt" \
    > /dev/null 2>&1 || fail "$q: replay failed"
pages="0xffff8000 0xffff9000 0xffffa000 0xffffb000 0xffffc000 0xffffd000 0xffffe000"
real_pages=$(awk -v pages="$pages" '$1 == "DMA" { for (i = 2; i <= NF; i++) if ($i ~ /^iova=/) c[substr($i, 6)]++ }
    END { n = split(pages, p, " "); for (i = 1; i <= n; i++) printf "%d ", c[p[i]] }' "$TXT/$q.txt")
model_pages=$(awk -F, -v pages="$pages" 'NR > 1 { c[$9]++ }
    END { n = split(pages, p, " "); for (i = 1; i <= n; i++) printf "%d ", c[p[i]] }' "$WORK/qs-acc.csv")
echo "$q: rx ring pages 0xffff8000..0xffffe000, QEMU's translations $real_pages, model's $model_pages"
[ "$real_pages" = "$model_pages" ] && [ "$real_pages" = "794 512 512 512 7379 512 264 " ] ||
    fail "$q: rx ring pages: QEMU $real_pages, model $model_pages"
IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" --sizes 4 \
    --set dev.virtio-net.rx_queue_size=256 virtio-net "$SRC/traces/$q.zst" > "$WORK/qs256" 2>&1
awk -v t=$q '$1 == t && $5 + 0 > 0.20 { ok = 1 } END { exit !ok }' "$WORK/qs256" ||
    fail "$q with 256-entry rings: $(cat "$WORK/qs256")"
# The packed-virtqueue capture: its import read the ring format from the
# capture's meta.tsv (nic column: packed=on) into the trace's metadata,
# so the rows above replayed it packed (dev.virtio-net.ring auto); the
# split model is refused on it: exit 2, one line naming the trace.
grep -q 'packed=on' "$SRC/traces/raw/redis-strict-packed-qemu-trace/meta.tsv" ||
    fail "packed capture: meta.tsv does not say packed=on"
grep -qx '#meta implies.dev.virtio-net.ring=packed' "$TXT/redis-strict-packed-qemu-nodma.txt" ||
    fail "packed capture: no implies.dev.virtio-net.ring=packed in its metadata"
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set dev.model=virtio-net \
    --set dev.virtio-net.ring=split "$TXT/redis-strict-packed-qemu-nodma.txt" \
    > "$WORK/split.out" 2> "$WORK/split.err"
rc=$?
[ $rc -eq 2 ] && [ ! -s "$WORK/split.out" ] && [ "$(wc -l < "$WORK/split.err")" -eq 1 ] &&
    grep -q "redis-strict-packed-qemu-nodma.txt: .*capture used a packed virtqueue" "$WORK/split.err" ||
    fail "packed capture with ring=split: exit $rc, $(cat "$WORK/split.err")"
# The tap capture with its offloads (redis-strict-tap-qemu): tx data
# packets go through indirect tables (Linux virtqueue_add_split; QEMU
# virtqueue_split_pop reads the head desc, then per entry the table entry
# and the buffer).  QEMU's indirect pops, counted in the real trace's DMA
# records (a tx desc-page read followed by X, Y, X, Z with X a page that
# is no ring: 1,001), against the tables the model recognized (its
# tx.indirect accesses / 2, 2 entries each: 993) within 2%; without the
# tables (dev.virtio-net.indirect=false) each map is a packet and the
# lookups are far off (+42%).
real_ind=$(awk '$1 == "DMA" { for (i = 2; i <= NF; i++) if ($i ~ /^iova=/) a[n++] = substr($i, 6) }
    END { for (i = 0; i + 3 < n; i++)
            if (a[i] == "0xffffc000" && a[i+1] == a[i+3] && a[i+1] != "0xffffd000" && a[i+2] != a[i+1]) c++
          print c + 0 }' "$TXT/redis-strict-tap-qemu.txt")
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace --set sim.window_only=false \
    --set dev.model=virtio-net --dump-accesses "$WORK/tap-acc.csv" "$TXT/redis-strict-tap-qemu-nodma.txt" \
    > /dev/null 2>&1 || fail "tap capture: replay failed"
model_ind=$(awk -F, '$5 == "tx.indirect" { c++ } END { print int(c / 2) }' "$WORK/tap-acc.csv")
echo "tap indirect pops: QEMU $real_ind, model $model_ind"
awk -v r="$real_ind" -v m="$model_ind" 'BEGIN { exit !(r > 900 && m >= 0.98 * r && m <= 1.02 * r) }' ||
    fail "tap capture: indirect pops QEMU $real_ind vs model $model_ind"
IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" --sizes 4 \
    --set dev.virtio-net.indirect=false virtio-net "$SRC/traces/redis-strict-tap-qemu.zst" > "$WORK/noind" 2>&1
awk '$1 == "redis-strict-tap-qemu" && $5 + 0 > 0.30 { ok = 1 } END { exit !ok }' "$WORK/noind" ||
    fail "tap capture without indirect tables: $(cat "$WORK/noind")"
# The tap capture with 16 KB values (redis-strict-tap-v16384-qemu): the
# SETs reach the guest as GSO frames of up to 16,496 B, which QEMU writes
# over several mergeable rx buffers (virtio_net_receive_rcu), and the
# import gave each rx buffer's UNMAP its frame's length from the netdev's
# dump (--pcap-tap: UNMAP reserved).  Checked by other routes:
#   - the lengths: the dump's frames to the guest read here with od (a
#     frame is the host's when its source MAC, after the 12-byte vnet
#     header, does not begin 52:54:00), length - 12, against the trace's
#     UNMAP lengths, value by value: all but the frames the trace's span
#     does not hold (1,640 of 1,643 carried);
#   - the buffers and packets: QEMU's rx pops in the real DMA records (an
#     rx desc-page read followed by a page that is no ring: 3,788), of
#     which a packet's further buffers are those whose pages are followed
#     by one translation of the avail/used page (the next avail ring
#     slot) and then the desc page (2,146: 1,642 packets, as the dump's
#     1,643 frames), against the model's (rx.used.elem writes, one per
#     buffer: 3,788; rx.used.idx writes, one per packet: 1,699) within 1%
#     and 5%;
#   - without the further buffers (dev.virtio-net.mrg_rxbuf=false, each
#     buffer a packet) lookups are off by more than 10% (+13.4%).
t=redis-strict-tap-v16384-qemu
zstd -dc "$SRC/traces/raw/$t-trace/net.pcap.zst" | od -An -v -tu1 | awk '
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END { o = 24
          while (o + 16 <= n) {
              cap = b[o+8] + 256 * b[o+9] + 65536 * b[o+10]
              len = b[o+12] + 256 * b[o+13] + 65536 * b[o+14]
              s = o + 16 + 12 + 6 # the source MAC after the vnet header
              if (!(b[s] == 82 && b[s+1] == 84 && b[s+2] == 0)) print len - 12
              o += 16 + cap } }' | sort -n | uniq -c > "$WORK/dump-len.txt"
sed -n '/^UNMAP.* rsv=/s/.* rsv=\([0-9]*\).*/\1/p' "$TXT/$t.txt" | sort -n | uniq -c > "$WORK/trace-len.txt"
lens=$(awk 'NR == FNR { d[$2] = $1; nd += $1; next } { tr += $1; if ($1 > d[$2] + 0) bad++
                                                  else miss += d[$2] - $1; seen[$2] = 1 }
            END { for (v in d) if (!(v in seen)) miss += d[v]
                  print nd + 0, tr + 0, miss + 0, bad + 0 }' "$WORK/dump-len.txt" "$WORK/trace-len.txt")
read -r nd ntr nmiss nbad <<< "$lens"
read -r real_pops real_pkts < <(awk '$1 == "DMA" { for (i = 2; i <= NF; i++) if ($i ~ /^iova=/) a[n++] = substr($i, 6) }
    END { r["0xffffe000"] = r["0xfffff000"] = r["0xffffc000"] = r["0xffffd000"] = 1
          for (i = 0; i + 1 < n; i++) {
              if (a[i] != "0xffffe000" || (a[i+1] in r)) continue
              c++
              for (j = i + 1; j < n && !(a[j] in r); j++) ;
              if (j + 1 < n && a[j] == "0xfffff000" && a[j+1] == "0xffffe000") cont++ }
          print c + 0, c - cont }' "$TXT/$t.txt")
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace --set sim.window_only=false \
    --set dev.model=virtio-net --dump-accesses "$WORK/v16-acc.csv" "$TXT/$t-nodma.txt" \
    > /dev/null 2>&1 || fail "$t: replay failed"
read -r model_pops model_pkts < <(awk -F, '$5 == "rx.used.elem" { c++ } $5 == "rx.used.idx" { p++ }
    END { print c + 0, p + 0 }' "$WORK/v16-acc.csv")
echo "$t: $nd rx frames in the dump, $ntr lengths on UNMAPs ($nmiss not carried, $nbad not in" \
     "the dump); rx buffers QEMU $real_pops, model $model_pops; packets QEMU $real_pkts, model $model_pkts"
[ "$nd" -gt 1600 ] && [ "$nbad" = 0 ] && [ "$nmiss" -le 3 ] && [ $((nd - ntr)) = "$nmiss" ] ||
    fail "$t: the UNMAP lengths are not the dump's rx frames"
awk -v r="$real_pops" -v m="$model_pops" -v rp="$real_pkts" -v mp="$model_pkts" '
    BEGIN { exit !(r > 3000 && m >= 0.99 * r && m <= 1.01 * r && rp < 0.5 * r &&
                   mp >= 0.95 * rp && mp <= 1.05 * rp) }' ||
    fail "$t: rx buffers QEMU $real_pops vs model $model_pops, packets $real_pkts vs $model_pkts"
IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" --sizes 4 \
    --set dev.virtio-net.mrg_rxbuf=false virtio-net "$SRC/traces/$t.zst" > "$WORK/nomrg" 2>&1
awk -v t="$t" '$1 == t && $5 + 0 > 0.10 { ok = 1 } END { exit !ok }' "$WORK/nomrg" ||
    fail "$t without mergeable rx buffers: $(cat "$WORK/nomrg")"
# The same 16 KB-value load over a tap with offloads on a packed
# virtqueue (redis-strict-tap-packed-qemu): indirect tx tables and rx
# frames over several mergeable buffers, on a packed ring (rings: rx
# descriptor ring 0xfffff000, driver area 0xffffe000, device area
# 0xffffd000; tx 0xffffc000 / b000 / a000).  Checked in QEMU's own
# translations, by another route than the model's:
#   - indirect pops (hw/virtio/virtio.c virtqueue_packed_pop: after the
#     tx descriptor ring's reads, vring_packed_desc_read of each table
#     entry, four translations of the table's page, then its buffer): a
#     tx-ring translation followed by four of one page that is no ring,
#     against the model's tables (tx.indirect rows right after a
#     tx.desc.len row), within 3%;
#   - rx packets (virtio_net_receive_rcu: between two notifies, each two
#     driver-area reads): every one has exactly 1 + 12 n rx
#     descriptor-ring translations for its n buffers (empty check,
#     virtqueue_packed_get_avail_bytes 4 n, n pops of 5, one flush of 3 n),
#     and the packets and buffers QEMU wrote against the model's
#     (rx.driver.off_wrap rows; rx.desc.addr rows / 2), within 2%;
#   - without the tables (indirect=false) or the further buffers
#     (mrg_rxbuf=false) the lookups are off by more than 10%.
t=redis-strict-tap-packed-qemu
grep -q 'packed=on' "$SRC/traces/raw/$t-trace/meta.tsv" || fail "$t: meta.tsv does not say packed=on"
read -r real_tab real_pk real_buf real_odd < <(awk '$1 == "DMA" { for (i = 2; i <= NF; i++) if ($i ~ /^iova=/) a[n++] = substr($i, 6) }
    END { r["0xfffff000"] = r["0xffffe000"] = r["0xffffd000"] = 1
          r["0xffffc000"] = r["0xffffb000"] = r["0xffffa000"] = 1
          for (i = 0; i + 4 < n; i++)
              if (a[i] == "0xffffc000" && !(a[i+1] in r) && a[i+1] == a[i+2] &&
                  a[i+1] == a[i+3] && a[i+1] == a[i+4]) tab++
          for (i = 0; i < n; i++) {
              if (a[i] == "0xfffff000") f++
              else if (a[i] == "0xffffe000" && ++e % 2 == 0) {
                  if ((f - 1) % 12) odd++; else { pk++; buf += (f - 1) / 12 }
                  f = 0 } }
          print tab + 0, pk + 0, buf + 0, odd + 0 }' "$TXT/$t.txt")
"$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace --set sim.window_only=false \
    --set dev.model=virtio-net --dump-accesses "$WORK/pk-acc.csv" "$TXT/$t-nodma.txt" \
    > /dev/null 2>&1 || fail "$t: replay failed"
read -r model_tab model_pk model_buf < <(awk -F, '$4 == "virtio-net" {
        if ($5 == "tx.indirect" && prev == "tx.desc.len") tab++
        if ($5 == "rx.driver.off_wrap") pk++
        if ($5 == "rx.desc.addr") addr++
        prev = $5 }
    END { print tab + 0, pk + 0, addr / 2 }' "$WORK/pk-acc.csv")
echo "$t: indirect pops QEMU $real_tab, model $model_tab; rx packets QEMU $real_pk ($real_odd not" \
     "1 + 12 n), model $model_pk; rx buffers QEMU $real_buf, model $model_buf"
awk -v rt="$real_tab" -v mt="$model_tab" -v rp="$real_pk" -v mp="$model_pk" -v rb="$real_buf" \
    -v mb="$model_buf" -v odd="$real_odd" 'BEGIN {
    exit !(rt > 900 && mt >= 0.97 * rt && mt <= 1.03 * rt && odd == 0 && rb > 1.5 * rp &&
           mp >= 0.98 * rp && mp <= 1.02 * rp && mb >= 0.98 * rb && mb <= 1.02 * rb) }' ||
    fail "$t: QEMU's packed indirect pops or rx packets/buffers not the model's"
for s in dev.virtio-net.indirect=false dev.virtio-net.mrg_rxbuf=false; do
    IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" --sizes 4 \
        --set "$s" virtio-net "$SRC/traces/$t.zst" > "$WORK/pk-off" 2>&1
    awk -v t="$t" '$1 == t && $5 + 0 > 0.10 { ok = 1 } END { exit !ok }' "$WORK/pk-off" ||
        fail "$t with $s: $(cat "$WORK/pk-off")"
done
# The rx-burst reason, checked: with each real rx buffer access moved to
# just before the guest's unmap of it (scripts/rx-at-unmap) the real
# 8-entry misses come within 2% of rx_at=unmap's, where unmoved they are
# more than 5% apart (and within 5% of the default's: the rows above).
RINGS="0xffffe000 0xfffff000 0xffffc000 0xffffd000" # virtio-net rings (model defaults)
misses_at() { # entries trace [--set ...]: IOTLB misses, fully associative LRU
    local w=$1 t=$2; shift 2
    "$IOSIM" --config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace \
        --set sim.window_only=false --set vtd.iotlb.sets=1 --set vtd.iotlb.ways=$w \
        --set vtd.iotlb.replacement=lru --no-progress --format csv "$@" "$t" |
        awk -F, '$1 == "stat" && $3 == "iotlb.misses" { print $4 }'
}
# (redis-strict-q10-qemu was one; its re-capture with the dump,
# redis-strict-q10-pcap-qemu, is not: real 1,633, moved 1,571, rx_at=unmap
# 1,569, -3.9%.)
for t in redis-strict-tap-nooffload-qemu nginx-strict-tap-nooffload-qemu \
         redis-strict-612-tap-nooffload-qemu redis-strict-q10-tap-nooffload-qemu; do
    heads=false
    case $t in *q10*) heads=true ;; esac
    real=$(awk -v t="$t" '$1 == t && $2 == 8 { print $6 }' "$WORK/rows")
    bash "$SRC/scripts/rx-at-unmap" $RINGS < "$TXT/$t.txt" > "$WORK/moved.txt" 2> /dev/null
    moved=$(misses_at 8 "$WORK/moved.txt")
    unmap=$(misses_at 8 "$TXT/$t-nodma.txt" --set dev.model=virtio-net --set dev.virtio-net.rx_at=unmap \
                --set dev.virtio-net.shadow_heads=$heads)
    echo "$t at 8 entries: real misses $real, rx moved to the unmap $moved, rx_at=unmap $unmap"
    awk -v r="$real" -v mv="$moved" -v m="$unmap" 'BEGIN {
        e = (m - mv) / mv; u = (m - r) / r
        exit !(r > 0 && mv > 0 && e <= 0.02 && e >= -0.02 && (u > 0.05 || u < -0.05)) }' ||
        fail "$t: rx bursts do not explain rx_at=unmap's 8-entry misses"
done
# The synchronous-reply part, checked: a tap backend never writes an rx
# buffer inside a tx flush (net/tap.c tap_receive only writes the tap fd;
# replies come back through the main loop, tap_send), libslirp does
# (net/slirp.c net_slirp_receive -> slirp_input -> ... ->
# net_slirp_send_packet -> qemu_send_packet -> virtio_net_receive, all
# inside virtio_net_flush_tx), and on nginx those replies matter at 4
# entries: moving them past their element's push moves the real misses by
# more than 2% (measured 10,040 to 9,324, -7.1%; redis 4,853 to 4,835).
# Printed with the model's misses, which write libslirp's answers inside
# the element (the dump's join, below): 9,754, within 5% of the real ones.
TXRX="0xffffc000 0xffffd000 0xffffe000 0xfffff000" # tx desc, tx rings, rx rings
for t in redis-strict-tap-nooffload-qemu nginx-strict-tap-nooffload-qemu nginx-strict-pcap-qemu \
         redis-strict-pcap-qemu; do
    bash "$SRC/scripts/rx-out-of-tx" $TXRX < "$TXT/$t.txt" > "$WORK/moved.txt" 2> "$WORK/msg"
    n=$(awk '{ print $2 }' "$WORK/msg")
    case $t in
    *tap*) [ "$n" = 0 ] || { echo "FAIL: $t: $n rx accesses inside tx flushes over a tap"
                             fails=$((fails + 1)); } ;;
    *) real=$(awk -v t="$t" '$1 == t && $2 == 4 { print $6 }' "$WORK/rows")
       model=$(awk -v t="$t" '$1 == t && $2 == 4 { print $7 }' "$WORK/rows")
       moved=$(misses_at 4 "$WORK/moved.txt")
       echo "$t at 4 entries: real misses $real, synchronous rx moved after the flush $moved," \
            "model $model ($(cat "$WORK/msg"))"
       [ "$n" -gt 0 ] || { echo "FAIL: $t: no rx inside tx flushes over libslirp"; fails=$((fails + 1)); }
       case $t in nginx*)
           awk -v r="$real" -v mv="$moved" 'BEGIN { e = (mv - r) / r; exit !(e < -0.02 || e > 0.02) }' ||
               { echo "FAIL: $t: synchronous replies do not move the 4-entry misses"; fails=$((fails + 1)); }
       esac ;;
    esac
done
# What the per-access dumps show (iosim --dump-accesses of the capture and
# of the model's replay, scripts/access-diff; docs/dev-virtio-net.md "What
# is left"), on the captures with the netdev's dump: on nginx QEMU writes
# most rx packets inside tx elements (libslirp's synchronous replies),
# and moving the real rx accesses after the tx ones in each run of DMA
# records moves the pure-LRU 4-entry misses far more than the model is
# off (measured: real 9,777, moved 8,238, model 9,557); the model, given
# libslirp's answers, writes most of them inside the element too (1,167
# of QEMU's 1,575; without the answers it wrote 2 of 1,545 on the
# retired dump-less capture).  On redis such replies are rare (36 of
# 1,032 tx packets), moving them changes the real misses by less than 5%
# (4,292 to 4,197), and the model still puts tx packets back to back far
# more often than QEMU (155 against 41): its rx arrivals, now the dump's,
# come between two tx maps less often than QEMU's writes.
dump_pair() { # trace raw-ftrace: access-diff of the real and the model's dumps
    local t=$1 raw=$2 cfg=(--config "$SRC/configs/qemu-virtio.yaml" --set os.policy=trace
        --set sim.window_only=false --set vtd.iotlb.sets=1 --set vtd.iotlb.ways=4
        --set vtd.iotlb.replacement=lru --set vtd.ats=false --no-progress)
    "$IOSIM" "${cfg[@]}" --dump-accesses "$WORK/real.csv" "$SRC/traces/$t.zst" > /dev/null &&
        "$IOSIM" "${cfg[@]}" --set dev.model=virtio-net --dump-accesses "$WORK/model.csv" \
            "$TXT/$t-nodma.txt" > /dev/null &&
        python3 "$SRC/scripts/access-diff" --ftrace "$raw" "$WORK/real.csv" "$WORK/model.csv" \
            > "$WORK/diff.txt" ||
        fail "$t: dumps or access-diff failed"
    # pure LRU: real, real with rx after tx, model; flush shape: tx real,
    # model, right after the previous tx real, model, rx inside tx
    # elements real, model
    lru=$(sed -n 's/^pure LRU-4 misses.*: real \([0-9]*\), real with rx after tx.* \([0-9]*\) (.*model \([0-9]*\)$/\1 \2 \3/p' "$WORK/diff.txt")
    shape=$(sed -n 's/^tx packets: real \([0-9]*\), model \([0-9]*\); right after the previous one (no rx access between): real \([0-9]*\), model \([0-9]*\); rx packets written inside a tx element (before its push): real \([0-9]*\), model \([0-9]*\)$/\1 \2 \3 \4 \5 \6/p' "$WORK/diff.txt")
    # tx packets mapped in softirq, answered inside; from a process, answered
    ctx=$(sed -n "s/^tx packets by the guest's context at their map (ftrace): softirq \([0-9]*\), answered inside their element \([0-9]*\); process \([0-9]*\), answered inside their element \([0-9]*\);.*/\1 \2 \3 \4/p" "$WORK/diff.txt")
    echo "$t dumps: pure LRU-4 real, rx after tx, model: $lru; tx real, model," \
         "tx right after tx real, model, rx inside tx real, model: $shape;" \
         "tx from softirq, answered inside, from a process, answered inside: $ctx"
}
# Which tx packets libslirp answers inside their element is the guest's TCP
# ACK state, not its maps: the guest's ftrace flags say whether the stack
# sent a segment from softirq (its ACKs, SYN-ACKs) or from the application
# (data, FIN).  On nginx (a new connection per request: Linux ACKs the
# request at once, quickack, so the response acknowledges nothing new and
# libslirp's header prediction ACKs it at once) most application segments
# are answered inside their element; on redis (four long-lived connections:
# delayed ACKs ride on the responses, which acknowledge new data, and
# libslirp only delays its ACK, TCP_REASS's TF_DELACK) almost none are.
RAW="$SRC/traces/raw"
dump_pair nginx-strict-pcap-qemu "$RAW/nginx-strict-pcap-qemu-trace/trace.txt.zst"
read -r ns na np npa <<< "$ctx"
awk -v np="$np" -v npa="$npa" 'BEGIN { exit !(np > 500 && npa > 0.7 * np) }' ||
    fail "nginx: application segments are not mostly answered inside their element"
read -r r mv m <<< "$lru"; read -r tr tm br bm ir im <<< "$shape"
awk -v r="$r" -v mv="$mv" -v m="$m" -v tr="$tr" -v ir="$ir" -v im="$im" 'BEGIN {
    exit !(r > m && r - mv > 2 * (r - m) && ir > 0.5 * tr && im > 0.5 * ir) }' ||
    fail "nginx: the model does not write libslirp's answers inside tx elements as QEMU does"
dump_pair redis-strict-pcap-qemu "$RAW/redis-strict-pcap-qemu-trace/trace.txt.zst"
read -r ns na np npa <<< "$ctx"
awk -v np="$np" -v npa="$npa" 'BEGIN { exit !(np > 500 && npa < 0.05 * np) }' ||
    fail "redis: application segments answered inside their element"
read -r r mv m <<< "$lru"; read -r tr tm br bm ir im <<< "$shape"
awk -v r="$r" -v mv="$mv" -v m="$m" -v tr="$tr" -v br="$br" -v bm="$bm" -v ir="$ir" 'BEGIN {
    exit !(ir < 0.1 * tr && (r - mv) / r < 0.05 && bm > 3 * br) }' ||
    fail "redis: the model does not put tx packets back to back far more often"
# The user-networking captures with the netdev's dump (-pcap-: iosim-trace
# import qemu --pcap): each joined MAP carries libslirp's answer to its
# segment (traces/FORMAT.md §4).  The join, checked by another route: a
# MAP is joined exactly when QEMU's first translation of its page comes
# right after one on the tx descriptor page (0xffffc000: virtqueue_pop of
# a tx element reads the descriptor, then maps the buffer), and the
# answered ones are as many as `iosim-trace pcap` counts in the dump (every
# guest segment libslirp answers at once was joined).  With the answers the
# model writes rx packets inside tx elements as QEMU does, and nginx's
# 4-entry cell is within 5% (-20.6% when the same capture is imported
# without --pcap: the field is the model's only input for it).
for t in nginx-strict-pcap-qemu redis-strict-pcap-qemu; do
    read -r joined right wrong answered < <(awk '
        $1 == "MAP" { p = $0; sub(/.* iova=/, "", p); sub(/ .*/, "", p)
                      pg = substr(p, 1, length(p) - 3)
                      j = ($0 ~ / rsv=/); w[pg] = j + 1
                      if (j) { joined++; v = $0; sub(/.* rsv=/, "", v); if (v % 8) ans++ } }
        $1 == "DMA" { p = $0; sub(/.* iova=/, "", p); sub(/ .*/, "", p)
                      pg = substr(p, 1, length(p) - 3)
                      if (pg in w) { tx = (last == "0xffffc")
                                     if (w[pg] == 2 && tx) right++
                                     else if (w[pg] == 2 || tx) wrong++
                                     delete w[pg] }
                      last = pg }
        END { print joined + 0, right + 0, wrong + 0, ans + 0 }' "$TXT/$t.txt")
    want=$("$IOSIM_TRACE" pcap "$SRC/traces/raw/$t-trace/net.pcap.zst" |
           sed -n 's/^answered_in_element = //p')
    echo "$t: $joined MAPs joined to a guest frame, $right after a tx descriptor read, $wrong" \
         "mismatched; $answered answered at once (the dump: $want)"
    [ "$joined" -gt 1000 ] && [ "$right" = "$joined" ] && [ "$wrong" = 0 ] &&
        [ "$answered" = "$want" ] || fail "$t: the pcap join does not match QEMU's tx pops"
done
awk '$1 == "nginx-strict-pcap-qemu" && $2 == 4 { e = $8 + 0; exit !(e <= 0.05 && e >= -0.05) }' \
    "$WORK/rows" || fail "nginx-strict-pcap-qemu: 4-entry misses not within 5% with libslirp's answers"
# The rx arrivals from the same dumps (each frame libslirp sent the guest,
# on the UNMAP of the rx buffer it went into: aux, traces/FORMAT.md §4),
# checked by another route: the dump's rx frames read here with od (the
# pcap record headers; a frame is libslirp's when its source MAC begins
# 52:55 or 52:56; the same 1,161 / 2,491 times as `tcpdump -tt -r`), and
# QEMU's translations in the trace.
#   - count: every rx frame but those before the trace's first buffer or
#     after its last (1,158 of 1,161; 2,488 of 2,491);
#   - the frames, in order, are the arrivals, sorted, shifted by the
#     frames before the trace (k): an arrival is the frame's time plus the
#     clocks' offset, which is constant between two of the merge's
#     anchors, so consecutive pairs keep exactly the same difference
#     (221 and 1,523 such pairs at k = 3 and 2; at most 5 at any other k,
#     whose differences spread over 390 ms or more, against 7.4 / 1.1 ms);
#   - each on its own buffer: the first device write of the buffer after
#     its MAP (QEMU's pop of it, after the dump took the frame) follows the
#     arrival by 45 / 38 us median (a frame one off would be hundreds of
#     us away, either way); no arrival after its UNMAP.
rx_frames() { # pcap.zst: libslirp's frames' times, ns from the first frame's second
    zstd -dc "$1" | od -An -v -tu1 | awk '
        { for (i = 1; i <= NF; i++) b[n++] = $i }
        function u32(o) { return b[o] + 256 * (b[o + 1] + 256 * (b[o + 2] + 256 * b[o + 3])) }
        END { if (u32(0) != 2712847316) exit 2 # a1b2c3d4 LE: microsecond stamps
              s0 = u32(24)
              for (o = 24; o + 16 <= n; o += 16 + cap) {
                  cap = u32(o + 8)
                  if (b[o + 22] == 82 && (b[o + 23] == 85 || b[o + 23] == 86))
                      printf "%.0f\n", ((u32(o) - s0) * 1000000 + u32(o + 4)) * 1000 } }'
}
for c in redis-strict-pcap-qemu:1161:1158:3 nginx-strict-pcap-qemu:2491:2488:2; do
    IFS=: read -r t nrx narr kwant <<< "$c"
    rx_frames "$SRC/traces/raw/$t-trace/net.pcap.zst" > "$WORK/rx.txt" || fail "$t: dump unreadable"
    # arrivals (sorted), pop - arrival per buffer, arrivals after their unmap
    awk '
        function f(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
        function pg(s) { return substr(s, 1, length(s) - 3) }
        function hex(s,   i, v) { v = 0; s = substr(s, 3)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v }
        $1 == "MAP" { p = pg(f("iova")); mapped[p] = 1; delete pop[p] }
        $1 == "DMA" && f("dir") == "write" { p = pg(f("iova")); if ((p in mapped) && !(p in pop)) pop[p] = f("t") }
        $1 == "UNMAP" { p = pg(f("iova")); a = f("aux")
            if (a != "") { a = hex(a); printf "%.0f\n", a > "/dev/stderr"
                           print (p in pop) ? pop[p] - a : "none"
                           if (a > f("t") + 0) late++ }
            delete mapped[p]; delete pop[p] }
        END { print "late", late + 0 }' "$TXT/$t.txt" 2> "$WORK/arr.txt" > "$WORK/gap.txt"
    sort -n "$WORK/arr.txt" -o "$WORK/arr.txt"
    narr_got=$(wc -l < "$WORK/arr.txt")
    late=$(sed -n 's/^late //p' "$WORK/gap.txt")
    nopop=$(grep -c '^none' "$WORK/gap.txt")
    med=$(grep -v '^late\|^none' "$WORK/gap.txt" | sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "none" }')
    best=$(awk 'NR == FNR { a[na++] = $1; next } { f[nf++] = $1 }
        END { for (k = 0; k <= 5; k++) {
                  same = 0; lo = hi = a[0] - f[k]
                  for (i = 0; i < na && i + k < nf; i++) {
                      d = a[i] - f[i + k]; if (i && d == prev) same++
                      if (d < lo) lo = d; if (d > hi) hi = d; prev = d }
                  if (same > bs) { bs = same; bk = k; sp = hi - lo }
                  if (same > 50) good++ }
              print bk + 0, bs + 0, sp + 0, good + 0 }' "$WORK/arr.txt" "$WORK/rx.txt")
    read -r k same spread good <<< "$best"
    echo "$t: $(wc -l < "$WORK/rx.txt") rx frames in the dump, $narr_got arrivals; sorted, frame" \
         "i + $k: $same consecutive pairs with the same offset, spread $spread ns; buffer's" \
         "pop - arrival median $med ns ($nopop without a pop); $late after their unmap"
    [ "$(wc -l < "$WORK/rx.txt")" = "$nrx" ] && [ "$narr_got" = "$narr" ] && [ "$k" = "$kwant" ] &&
        [ "$good" = 1 ] && [ "$spread" -lt 10000000 ] && [ "$late" = 0 ] && [ "$nopop" = 0 ] &&
        [ "$med" != none ] && [ "$med" -ge 0 ] && [ "$med" -le 100000 ] ||
        fail "$t: the rx arrivals do not match the dump's frames and QEMU's pops"
done
# With them the model writes each rx packet at its arrival (instead of
# the estimate from the guest's maps), and redis's 4-entry cell is within
# 5%: -5.7% with the same trace's arrivals removed (the field is the
# model's only input for it).
awk '$1 == "redis-strict-pcap-qemu" && $2 == 4 { e = $8 + 0; exit !(e <= 0.05 && e >= -0.05) }' \
    "$WORK/rows" || fail "redis-strict-pcap-qemu: 4-entry misses not within 5% with the rx arrivals"
for t in redis-strict-pcap-qemu nginx-strict-pcap-qemu; do
    sed '/^UNMAP/s/ aux=0x[0-9a-f]*//' "$TXT/$t-nodma.txt" > "$WORK/noarr.txt"
    real=$(awk -v t="$t" '$1 == t && $2 == 4 { print $6 }' "$WORK/rows")
    with=$(awk -v t="$t" '$1 == t && $2 == 4 { print $7 }' "$WORK/rows")
    without=$(misses_at 4 "$WORK/noarr.txt" --set dev.model=virtio-net)
    echo "$t at 4 entries: real misses $real, model $with, without the arrivals $without"
    [ "$without" != "$with" ] || fail "$t: the rx arrivals do not reach the model"
done
# the check can fail: touch, the rule before device models, is far off
if IOSIM="$IOSIM" IOSIM_TRACE="$IOSIM_TRACE" bash "$SRC/scripts/dev-check" touch \
       "$SRC/traces/redis-strict-e1000e-qemu.zst" > /dev/null; then
    fail "dev-check passes touch, which makes a quarter of the lookups"
fi
finish
