/* import_pcap.c — `iosim-trace import qemu --pcap NET.pcap`: each guest
 * tx frame of the netdev's dump, with libslirp's answer to it
 * (pcap_slirp.c), joined to the guest MAP of its buffer, whose
 * `reserved` field then carries the answer; each frame libslirp sent the
 * guest joined to the rx buffer it went into, whose UNMAP's `aux` then
 * carries the frame's arrival (traces/FORMAT.md §4).
 *
 * Concepts:
 *   - The join is by QEMU's own clocks.  QEMU sends a tx frame inside
 *     virtio_net_flush_tx right after virtqueue_pop has translated its
 *     buffer (hw/net/virtio-net.c; the dump filter runs in
 *     qemu_sendv_packet_async before the backend), in one thread, so the
 *     frame follows its buffer's first translation by microseconds.  The
 *     QEMU log stamps a translation with the host's wall clock
 *     (`-msg timestamp=on`), the dump stamps a frame with
 *     QEMU_CLOCK_VIRTUAL plus the start's wall-clock second (net/dump.c
 *     dump_receive_iov: start_ts + virtual time): both advance with the
 *     host clock while the VM runs, one constant c apart.
 *   - Calibration (pcap_join_calibrate, a measured constant, not a
 *     fit to the result): c is the most common difference, to the
 *     microsecond, between a translation's time and a guest frame's time,
 *     over the first PCAP_CAL_FRAMES guest frames the log's span may
 *     hold (a log cut short keeps its beginning) and every translation within
 *     PCAP_CAL_RANGE of the first-frame / first-translation offset; an
 *     offset that fits fewer than a tenth of them (or 8) is an error.  A
 * frame's pop is the translation just before it, so that difference repeats, to
 * the microsecond, for a large share of the frames (38% on the nginx capture of
 *     tests/data/slirp-nginx-head.pcap's run), while the others spread.
 *   - A *pop* is the first translation of a page a guest MAP mapped (the
 *     merge calls pcap_join_pop with the MAP's sink handle); rx buffers
 *     have pops too.  Each guest frame goes to the latest pop at most
 *     PCAP_JOIN_SLACK_NS after its corrected time; a pop takes one frame,
 *     and a frame more than PCAP_JOIN_MAX_NS after its pop is left out
 *     (the pop was an rx buffer's; the frame's own was not seen).
 *   - rx (pcap_join_rx_pop): QEMU writes an rx frame into the dump when
 *     the backend hands it over (net/slirp.c net_slirp_send_packet ->
 *     qemu_send_packet -> the netdev's filters, net/dump.c), then
 *     virtio_net_receive pops the next rx buffer: the buffer's first
 *     translation, a device write, follows the frame (by 48 us median,
 *     -6 to 170 us, on the redis capture: the ring translations QEMU logs
 *     in between), frames and buffers in the same order (the device takes
 *     buffers in avail order, frames in the order they come).  So each
 *     write pop takes the oldest frame not given out that came at most
 *     PCAP_JOIN_SLACK_NS after it; older frames than PCAP_RX_MAX_NS
 *     before it found no pop (before the log began).  The frame's time
 *     on QEMU's clock (+ c), plus the merge's guest-QEMU offset at that
 *     point (the last anchor's), is its arrival in trace time, which
 *     import_qemu.c writes on the guest's UNMAP of that buffer.  Both
 *     captures: every frame in the trace's span joined (2,490 of 2,491
 *     and 1,159 of 1,161; the others came before the first pop or after
 *     the last).
 *   - The MAP's `reserved` gets PCAP_SEG_KNOWN | (TCP ? PCAP_SEG_TCP : 0)
 *     | the answer (slirp_answer_t, 3 bits).
 *   - Frames after the last pop's reach came after the guest's trace and
 *     count nowhere; when more than a tenth of the frames in between stay
 *     unjoined the dump is not this run's (an error: two runs of one guest
 *     boot alike, so the calibration alone can line up another run's boot
 *     frames).
 * Assumptions: the QEMU log has time stamps; one netdev, one NIC; the
 *   dump's first frame and the log's first translation are within
 *   PCAP_CAL_RANGE of each other once c is applied (the guest's first
 *   frames follow its NIC's probe by under a second).
 * Not modeled: frames QEMU queued because the backend could not take
 *   them (they would follow their pop by longer than PCAP_JOIN_MAX_NS).
 */
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"
#include "base/vec.h"
#include "trace/import.h"
#include "trace/pcap_slirp.h"

/* The join's windows are chosen, not measured nor fitted (UNVERIFIED):
 * they bound a match, they are no model number.  What checks them is the
 * join's outcome, which tests/cli/dev_ground_truth.sh asserts on both
 * shipped dumps (every frame in the trace's span joined, each pop's
 * frame read from the raw dump by another route). */
#define PCAP_CAL_FRAMES 128u
#define PCAP_CAL_RANGE 5000000000ll /* +-5 s around the first offset */
#define PCAP_JOIN_SLACK_NS 10000ull /* 10 us: stamp jitter */
#define PCAP_JOIN_MAX_NS 1000000ull /* 1 ms */

#define PCAP_RX_MAX_NS 1000000ull /* 1 ms: an rx frame's wait for its pop */

/* A tap's dump (--pcap-tap): QEMU 7.2's filter-dump writes the frame as
 * the tap hands it over, after the tap's virtio-net header, 12 bytes with
 * mergeable rx buffers (struct virtio_net_hdr_mrg_rxbuf; hw/net/virtio-net.c
 * virtio_net_set_mrg_rx_bufs -> qemu_set_vnet_hdr_len(peer, 12)), which the
 * pcap's length counts (seen in the redis-strict-tap-v16384 capture:
 * flags, gso_type, hdr_len, gso_size, csum fields, then the Ethernet
 * header).  The guest's frames come from QEMU's NIC address, OUI 52:54:00
 * (net/net.c qemu_macaddr_default_if_unset; the capture sets no mac=),
 * the host's from the tap's random one. */
#define PCAP_TAP_HDR 12u

typedef struct pj_frame {
    uint64_t t_ns;
    uint16_t word; /* PCAP_SEG_* | answer */
} pj_frame_t;

struct pcap_join {
    pj_frame_t *f; /* guest frames, pcap order */
    size_t n, cap;
    uint64_t first_frame_ns;
    int64_t c;   /* translation time - frame time */
    size_t next; /* first frame not yet given out */
    bool have_pop;
    uint64_t pop_t, pop_handle;
    bool pop_taken;
    /* libslirp's frames to the guest (rx), pcap order: their times (and,
     * from a tap's dump, lengths; else NULL) */
    uint64_t *rx;
    uint32_t *rxlen;
    size_t nrx, caprx, caprxlen;
    size_t next_rx; /* first rx frame not yet given to an rx pop */
    bool rx_joined; /* an rx frame has been joined (later misses count) */
};

pcap_join_t *pcap_join_new(const char *path, bool tap, iosim_err_t *err)
{
    pcap_reader_t *r = pcap_open(path, err);
    if (!r)
        return NULL;
    pcap_join_t *j = calloc(1, sizeof *j);
    slirp_replay_t *rp = slirp_replay_new();
    pcap_frame_t f;
    int k;
    if (!j || !rp) {
        iosim_err_set(err, "%s: out of memory", path);
        goto fail;
    }
    while ((k = pcap_next(r, &f, err)) == 1) {
        slirp_seg_t s;
        char why[128];
        if (tap && f.caplen < PCAP_TAP_HDR + 14) {
            iosim_err_set(err,
                          "%s: frame %llu: %u bytes, not a virtio-net "
                          "header and an Ethernet header (--pcap-tap)",
                          path, (unsigned long long)f.index, f.caplen);
            goto fail;
        }
        if (tap) { /* the Ethernet frame after the tap's vnet header */
            f.data += PCAP_TAP_HDR;
            f.caplen -= PCAP_TAP_HDR;
            f.len -= PCAP_TAP_HDR;
        }
        if (slirp_seg_parse(f.data, f.caplen, &s, why, sizeof why) < 0) {
            iosim_err_set(err, "%s: frame %llu: %s", path,
                          (unsigned long long)f.index, why);
            goto fail;
        }
        if (tap)
            s.from_guest =
                f.data[6] == 0x52 && f.data[7] == 0x54 && f.data[8] == 0x00;
        /* a tap answers nothing inside the tx element (net/tap.c
         * tap_receive writes the frame to the tap's fd and returns) */
        int a = tap ? SLIRP_ANS_NONE : slirp_replay_frame(rp, &s);
        if (a < 0 ||
            (s.from_guest && vec_reserve(&j->f, &j->cap, j->n + 1, 1024)) ||
            (!s.from_guest &&
             vec_reserve(&j->rx, &j->caprx, j->nrx + 1, 1024)) ||
            (!s.from_guest && tap &&
             vec_reserve(&j->rxlen, &j->caprxlen, j->nrx + 1, 1024))) {
            iosim_err_set(err, "%s: out of memory", path);
            goto fail;
        }
        if (f.index == 0)
            j->first_frame_ns = f.t_ns;
        if (!s.from_guest) {
            if (tap)
                j->rxlen[j->nrx] = f.len;
            j->rx[j->nrx++] = f.t_ns;
            continue;
        }
        j->f[j->n++] = (pj_frame_t){
            .t_ns = f.t_ns,
            .word = (uint16_t)(PCAP_SEG_KNOWN | (s.tcp ? PCAP_SEG_TCP : 0) |
                               (unsigned)a)};
    }
    if (k < 0)
        goto fail;
    if (!j->n) {
        iosim_err_set(err, "%s: no frame from the guest", path);
        goto fail;
    }
    slirp_replay_free(rp);
    pcap_close(r);
    return j;
fail:
    slirp_replay_free(rp);
    pcap_close(r);
    pcap_join_free(j);
    return NULL;
}

void pcap_join_free(pcap_join_t *j)
{
    if (j) {
        free(j->f);
        free(j->rx);
        free(j->rxlen);
    }
    free(j);
}

size_t pcap_join_frames(const pcap_join_t *j) { return j->n; }

size_t pcap_join_rx_frames(const pcap_join_t *j) { return j->nrx; }

int64_t pcap_join_offset(const pcap_join_t *j) { return j->c; }

int pcap_join_calibrate(pcap_join_t *j, const uint64_t *tq, size_t n,
                        const char *name, iosim_err_t *err)
{
    if (!n)
        return iosim_err_set(err,
                             "%s: no time-stamped translation to join the "
                             "pcap with (-msg timestamp=on)",
                             name);
    int64_t c0 = (int64_t)(tq[0] - j->first_frame_ns);
    u64map_t h;
    if (u64map_init(&h, 1u << 16) < 0)
        return iosim_err_set(err, "%s: out of memory", name);
    /* the first frames the log may hold (c0 is good to a few seconds; a
     * log cut short keeps its beginning) */
    size_t f0 = 0;
    while (f0 < j->n &&
           (int64_t)j->f[f0].t_ns + c0 + PCAP_CAL_RANGE < (int64_t)tq[0])
        f0++;
    size_t f1 = j->n - f0 > PCAP_CAL_FRAMES ? f0 + PCAP_CAL_FRAMES : j->n;
    size_t sampled = 0;
    uint64_t best_n = 0;
    int64_t best = 0;
    for (size_t i = f0; i < f1; i++, sampled++) {
        int64_t lo = (int64_t)j->f[i].t_ns + c0 - PCAP_CAL_RANGE;
        /* first translation >= lo */
        size_t a = 0, b = n;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if ((int64_t)tq[mid] < lo)
                a = mid + 1;
            else
                b = mid;
        }
        for (; a < n && (int64_t)tq[a] <= lo + 2 * PCAP_CAL_RANGE; a++) {
            int64_t d = (int64_t)tq[a] - (int64_t)j->f[i].t_ns;
            uint64_t key = (uint64_t)d, cnt = 0;
            (void)u64map_get(&h, key, &cnt);
            if (u64map_put(&h, key, cnt + 1) < 0) {
                u64map_fini(&h);
                return iosim_err_set(err, "%s: out of memory", name);
            }
            /* ties: the smallest difference (the translation nearest
             * before the frame) */
            if (cnt + 1 > best_n || (cnt + 1 == best_n && d < best)) {
                best_n = cnt + 1;
                best = d;
            }
        }
    }
    u64map_fini(&h);
    /* a frame's pop repeats the offset for a large share of the frames;
     * noise gives each microsecond a frame or two */
    if (best_n < 8 || best_n * 10 < sampled)
        return iosim_err_set(err,
                             "%s: the pcap's frames do not line up with the "
                             "translations (the best clock offset, %lld ns, "
                             "fits %llu of %zu frames): not the same run?",
                             name, (long long)best, (unsigned long long)best_n,
                             sampled);
    j->c = best;
    return 0;
}

/* Gives out frames up to time `until` (corrected) to the current pop. */
static void join_advance(pcap_join_t *j, uint64_t until, import_sink_t *sink,
                         import_counts_t *counts)
{
    while (j->next < j->n) {
        const pj_frame_t *f = &j->f[j->next];
        int64_t t = (int64_t)f->t_ns + j->c;
        if (t + (int64_t)PCAP_JOIN_SLACK_NS >= (int64_t)until)
            return;
        j->next++;
        if (!j->have_pop || t + (int64_t)PCAP_JOIN_SLACK_NS < (int64_t)j->pop_t)
            continue; /* before the trace's first pop */
        if (j->pop_taken || t > (int64_t)(j->pop_t + PCAP_JOIN_MAX_NS) ||
            import_sink_set_reserved(sink, j->pop_handle, f->word) < 0) {
            counts->pcap_unjoined++;
            continue;
        }
        j->pop_taken = true;
        counts->pcap_joined++;
        if ((f->word & PCAP_SEG_ANSWER) != SLIRP_ANS_NONE)
            counts->pcap_answered++;
    }
}

void pcap_join_pop(pcap_join_t *j, uint64_t t_ns, uint64_t handle,
                   import_sink_t *sink, import_counts_t *counts)
{
    if (j->have_pop && handle == j->pop_handle)
        return; /* the buffer's next page */
    join_advance(j, t_ns, sink, counts);
    j->have_pop = true;
    j->pop_t = t_ns;
    j->pop_handle = handle;
    j->pop_taken = false;
}

int pcap_join_finish(pcap_join_t *j, import_sink_t *sink,
                     import_counts_t *counts, const char *name,
                     iosim_err_t *err)
{
    /* frames up to the last pop's reach; the rest came after the trace */
    if (j->have_pop)
        join_advance(j, j->pop_t + PCAP_JOIN_MAX_NS + 1, sink, counts);
    /* the right offset joins every frame in the trace's span (both
     * captures: none left); one that fits only the boot's frames, which
     * two runs of one guest share, leaves most of the load's unjoined */
    if (counts->pcap_unjoined * 10 > counts->pcap_joined)
        return iosim_err_set(
            err,
            "%s: the pcap's frames do not line up with the "
            "translations (%llu of %llu guest frames in "
            "the trace joined to a buffer): not the same "
            "run?",
            name, (unsigned long long)counts->pcap_joined,
            (unsigned long long)(counts->pcap_joined + counts->pcap_unjoined));
    return 0;
}

int pcap_join_rx_pop(pcap_join_t *j, uint64_t t_ns, uint64_t *frame_t,
                     uint32_t *frame_len, import_counts_t *counts)
{
    while (j->next_rx < j->nrx) {
        int64_t t = (int64_t)j->rx[j->next_rx] + j->c;
        if (t > (int64_t)(t_ns + PCAP_JOIN_SLACK_NS))
            return 0; /* the next frame came after this pop */
        j->next_rx++;
        if (t + (int64_t)PCAP_RX_MAX_NS < (int64_t)t_ns) {
            /* its pop was not seen (before the log, or not a write) */
            if (j->rx_joined)
                counts->pcap_rx_unjoined++;
            continue;
        }
        j->rx_joined = true;
        counts->pcap_rx_joined++;
        *frame_t = (uint64_t)t;
        *frame_len = j->rxlen ? j->rxlen[j->next_rx - 1] : 0;
        return 1;
    }
    return 0;
}
