/* fuzz_pcap.c — fuzz target: the pcap reader, the Ethernet/IPv4/TCP parser
 * and the libslirp tcp_input replay (sim/trace/pcap_slirp.c), driven as
 * `iosim-trace pcap` and `import qemu --pcap` drive them.
 *
 * Concepts:
 *   - The input is written to a scratch file (pcap_open takes a path) and
 *     read frame by frame; every frame is parsed and fed to the replay.
 *   - Checks: no crash / leak / UB; a failed open or read returns one line
 *     starting with the file's name; a frame's caplen never exceeds its
 *     len, and frames come numbered from 0; a parsed TCP segment's payload
 * length fits its frame's IP total length (at most 65,535 - 40); the replay
 * answers in 0..7 for guest segments and 0 for libslirp's; an error of the
 * parser leaves a reason. Assumptions: inputs up to a few hundred KB
 * (libFuzzer's -max_len). Not modeled here: the join with a QEMU log
 * (import_pcap.c: it needs three files; tests/cli/pcap_slirp.sh and
 * ship_traces.sh run it).
 */
#include "fuzz_common.h"
#include "trace/pcap_slirp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    iosim_err_t err;
    memset(&err, 0, sizeof err);
    pcap_reader_t *r = pcap_open(path, &err);
    if (!r) {
        fuzz_check_err(&err, path, "pcap open");
        return 0;
    }
    slirp_replay_t *p = slirp_replay_new();
    if (!p)
        fuzz_fail("slirp_replay_new failed");
    pcap_frame_t f;
    uint64_t n = 0;
    int k;
    while ((k = pcap_next(r, &f, &err)) == 1) {
        if (f.index != n++)
            fuzz_fail("pcap: frame %llu numbered %llu", (unsigned long long)n,
                      (unsigned long long)f.index);
        if (f.caplen > f.len)
            fuzz_fail("pcap: caplen %u > len %u", f.caplen, f.len);
        slirp_seg_t s;
        char why[128] = "";
        if (slirp_seg_parse(f.data, f.caplen, &s, why, sizeof why) < 0) {
            if (!why[0])
                fuzz_fail("pcap: a frame refused without a reason");
            continue;
        }
        if (s.tcp && s.len > 65535 - 40)
            fuzz_fail("pcap: TCP payload of %u bytes", s.len);
        int a = slirp_replay_frame(p, &s);
        if (a < 0 || a >= SLIRP_ANS_COUNT || (!s.from_guest && a != 0))
            fuzz_fail("pcap: answer %d to a %s segment", a,
                      s.from_guest ? "guest" : "libslirp");
    }
    if (k < 0)
        fuzz_check_err(&err, path, "pcap read");
    slirp_replay_free(p);
    pcap_close(r);
    return 0;
}
