/* test_pcap_slirp.c — the pcap reader, the Ethernet/IPv4/TCP parser and
 * the replay of libslirp's tcp_input decisions (sim/trace/pcap_slirp.c).
 *
 * tests/data/slirp-nginx-head.pcap: the first 48 frames of the QEMU
 * filter-dump of a real capture (scripts/capture/run nginx strict
 * --qemu-trace --requests 400 --net user, 2026-12-07), cut at a frame
 * boundary by a script.  The values below were read with tcpdump 4.99
 * (`tcpdump -e -nn -tt -r`): frame 5 is the guest's SYN-ACK to the
 * control connection, 22 frames come from the guest's MAC 52:54:00:12:34:56,
 * 16 of them TCP.  Whether libslirp sent at once is checked against the
 * pcap itself: on this load every guest segment answered inside its tx
 * element is followed, as the next frame, by libslirp's segment of that
 * connection, and no other is (4,584 frames of the whole capture agree,
 * 1,283 answered, 802 not).  The crafted sequences follow tcp_input's
 * code paths (libslirp src/tcp_input.c, commit 5ac17660, line numbers in
 * pcap_slirp.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "trace/import.h"
#include "trace/pcap_slirp.h"

static const char head_pcap[] =
    IOSIM_SOURCE_DIR "/tests/data/slirp-nginx-head.pcap";

/* Reads the committed pcap: frame count, time stamps, lengths. */
static void test_read_head(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    pcap_reader_t *r = pcap_open(head_pcap, &err);
    assert_non_null(r);
    pcap_frame_t f;
    uint64_t n = 0, t0 = 0, t5 = 0, t47 = 0;
    uint32_t len5 = 0, len2 = 0;
    int k;
    slirp_seg_t s5 = {0};
    while ((k = pcap_next(r, &f, &err)) == 1) {
        if (f.index == 0)
            t0 = f.t_ns;
        if (f.index == 2)
            len2 = f.len;
        if (f.index == 5) {
            t5 = f.t_ns;
            len5 = f.len;
            char why[128];
            assert_int_equal(
                slirp_seg_parse(f.data, f.caplen, &s5, why, sizeof why), 0);
        }
        t47 = f.t_ns;
        n++;
    }
    assert_int_equal(k, 0);
    assert_int_equal(n, 48);
    assert_true(t0 == 1796656101534509000ull);
    assert_true(t5 == 1796656102142927000ull);
    assert_true(t47 == 1796656102695094000ull);
    assert_int_equal(len2, 42); /* ARP request */
    assert_int_equal(len5, 58); /* SYN-ACK with MSS option */
    /* 10.0.2.15.7777 > 10.0.2.2.44066: Flags [S.], seq 1706060657,
     * ack 1344002, win 64240, length 0 */
    assert_true(s5.tcp && s5.from_guest);
    assert_int_equal(s5.saddr, 0x0a00020f);
    assert_int_equal(s5.daddr, 0x0a000202);
    assert_int_equal(s5.sport, 7777);
    assert_int_equal(s5.dport, 44066);
    assert_int_equal(s5.seq, 1706060657u);
    assert_int_equal(s5.ack, 1344002u);
    assert_int_equal(s5.win, 64240);
    assert_int_equal(s5.flags, SLIRP_TH_SYN | SLIRP_TH_ACK);
    assert_int_equal(s5.len, 0);
    pcap_close(r);
}

/* The whole head through the replay: which guest frames are answered. */
static void test_replay_head(void **state)
{
    (void)state;
    iosim_err_t err = {0};
    pcap_reader_t *r = pcap_open(head_pcap, &err);
    assert_non_null(r);
    slirp_replay_t *p = slirp_replay_new();
    pcap_frame_t f;
    char got[64] = {0}, why[128];
    uint32_t guest = 0, guest_tcp = 0;
    while (pcap_next(r, &f, &err) == 1) {
        slirp_seg_t s;
        assert_int_equal(slirp_seg_parse(f.data, f.caplen, &s, why, sizeof why),
                         0);
        int a = slirp_replay_frame(p, &s);
        assert_true(a >= 0);
        if (!s.from_guest)
            continue;
        guest++;
        if (s.tcp) {
            guest_tcp++;
            got[f.index] = (char)('0' + a);
        } else
            got[f.index] = '-';
    }
    assert_int_equal(guest, 22);
    assert_int_equal(guest_tcp, 16);
    /* by frame: 5 SYN-ACK (syn), 9 ACK of the 6 data bytes (none, new
     * data acknowledged), 10 FIN after libslirp's FIN (FIN_WAIT_2, not
     * ESTABLISHED: TCP_REASS's else branch, reass), 17/25/28/46 SYN-ACKs,
     * 20/31/32 pure ACKs with a new window (none), 21/33/39 data that
     * acknowledges nothing new (data), 35 FIN (fin), 41 ACK of libslirp's
     * FIN in LAST_ACK (none), 42 data + FIN (fin: the data is in order,
     * TF_DELACK, then the FIN sets TF_ACKNOW) */
    static const struct {
        int frame;
        slirp_answer_t a;
    } want[] = {
        {5, SLIRP_ANS_SYN},   {9, SLIRP_ANS_NONE},  {10, SLIRP_ANS_REASS},
        {17, SLIRP_ANS_SYN},  {20, SLIRP_ANS_NONE}, {21, SLIRP_ANS_DATA},
        {25, SLIRP_ANS_SYN},  {28, SLIRP_ANS_SYN},  {31, SLIRP_ANS_NONE},
        {32, SLIRP_ANS_NONE}, {33, SLIRP_ANS_DATA}, {35, SLIRP_ANS_FIN},
        {39, SLIRP_ANS_DATA}, {41, SLIRP_ANS_NONE}, {42, SLIRP_ANS_FIN},
        {46, SLIRP_ANS_SYN}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (got[want[i].frame] != (char)('0' + want[i].a))
            fail_msg("frame %d: answer %c, want %d", want[i].frame,
                     got[want[i].frame], want[i].a);
    }
    slirp_replay_free(p);
    pcap_close(r);
}

/* ---- crafted segments ------------------------------------------- */
#define GUEST 0x0a00020fu
#define HOST 0x0a000202u

static slirp_seg_t seg(bool from_guest, uint8_t flags, uint32_t seq,
                       uint32_t ack, uint16_t win, uint32_t len)
{
    slirp_seg_t s = {.from_guest = from_guest,
                     .tcp = true,
                     .saddr = from_guest ? GUEST : HOST,
                     .daddr = from_guest ? HOST : GUEST,
                     .sport = from_guest ? 80 : 40000,
                     .dport = from_guest ? 40000 : 80,
                     .seq = seq,
                     .ack = ack,
                     .win = win,
                     .flags = flags,
                     .len = len,
                     .first_byte = len ? 'H' : 0};
    return s;
}

#define A SLIRP_TH_ACK
#define S SLIRP_TH_SYN
#define F SLIRP_TH_FIN
#define P SLIRP_TH_PUSH
#define R SLIRP_TH_RST

static int feed(slirp_replay_t *p, slirp_seg_t s)
{
    return slirp_replay_frame(p, &s);
}

/* libslirp connects (tcp_connect: SYN, SYN_SENT), the guest answers;
 * request 1000..1093 from the host. */
static slirp_replay_t *open_conn(void)
{
    slirp_replay_t *p = slirp_replay_new();
    assert_int_equal(feed(p, seg(false, S, 999, 0, 65535, 0)), 0);
    /* 753-776: the SYN-ACK in SYN_SENT: TF_ACKNOW */
    assert_int_equal(feed(p, seg(true, S | A, 5000, 1000, 64240, 0)),
                     SLIRP_ANS_SYN);
    assert_int_equal(feed(p, seg(false, A, 1000, 5001, 65535, 0)), 0);
    assert_int_equal(feed(p, seg(false, P | A, 1000, 5001, 65535, 93)), 0);
    return p;
}

/* Header prediction: a pure ACK with the window unchanged and new data
 * acknowledged takes 499-532 (no output); data that acknowledges nothing
 * new is ACKed at once (533-562). */
static void test_header_prediction(void **state)
{
    (void)state;
    slirp_replay_t *p = open_conn();
    /* window 64240 as at the SYN-ACK: prediction, pure ACK of new data */
    assert_int_equal(feed(p, seg(true, A, 5001, 1093, 64240, 0)),
                     SLIRP_ANS_NONE);
    /* the response acknowledges nothing new, same window: ACK now */
    assert_int_equal(feed(p, seg(true, P | A, 5001, 1093, 64240, 234)),
                     SLIRP_ANS_DATA);
    assert_int_equal(feed(p, seg(true, P | A, 5235, 1093, 64240, 1024)),
                     SLIRP_ANS_DATA);
    slirp_replay_free(p);
}

/* Data that acknowledges new data: the slow path, TCP_REASS in order in
 * ESTABLISHED: TF_DELACK only (no answer); a window change alone also
 * leaves the prediction (and sends nothing). */
static void test_delayed_ack(void **state)
{
    (void)state;
    slirp_replay_t *p = open_conn();
    /* the response carries the ACK of the request: new data acked */
    assert_int_equal(feed(p, seg(true, P | A, 5001, 1093, 64240, 5)),
                     SLIRP_ANS_NONE);
    /* the next request, then a response that acknowledges it */
    assert_int_equal(feed(p, seg(false, P | A, 1093, 5006, 65535, 20)), 0);
    assert_int_equal(feed(p, seg(true, P | A, 5006, 1113, 64240, 5)),
                     SLIRP_ANS_NONE);
    /* a pure ACK with another window: slow path, needoutput only */
    assert_int_equal(feed(p, seg(false, P | A, 1113, 5011, 65535, 20)), 0);
    assert_int_equal(feed(p, seg(true, A, 5011, 1133, 64000, 0)),
                     SLIRP_ANS_NONE);
    /* and the prediction holds again with the new window */
    assert_int_equal(feed(p, seg(true, P | A, 5011, 1133, 64000, 7)),
                     SLIRP_ANS_DATA);
    slirp_replay_free(p);
}

/* A FIN sets TF_ACKNOW (1276-1291); out-of-order data goes to
 * TCP_REASS's else branch; data wholly before rcv_nxt is ACKed (841);
 * an ACK beyond snd_max is dropafterack (1068). */
static void test_fin_ooo_dup(void **state)
{
    (void)state;
    slirp_replay_t *p = open_conn();
    /* out of order: 10 bytes ahead of rcv_nxt (5001) */
    assert_int_equal(feed(p, seg(true, P | A, 5011, 1093, 64240, 10)),
                     SLIRP_ANS_REASS);
    /* a retransmission of the SYN-ACK's sequence (before rcv_nxt) */
    assert_int_equal(feed(p, seg(true, A, 4990, 1093, 64240, 5)),
                     SLIRP_ANS_DUP);
    /* an ACK of data libslirp never sent */
    assert_int_equal(feed(p, seg(true, A, 5001, 9999, 64240, 0)),
                     SLIRP_ANS_AFTERACK);
    /* in-order data with FIN: TF_DELACK then the FIN's TF_ACKNOW */
    assert_int_equal(feed(p, seg(true, F | P | A, 5001, 1093, 64240, 10)),
                     SLIRP_ANS_FIN);
    /* libslirp closes (CLOSE_WAIT -> LAST_ACK), the guest ACKs its FIN:
     * tcp_close, nothing sent; the next segment finds no socket: RST */
    assert_int_equal(feed(p, seg(false, F | A, 1093, 5012, 65535, 0)), 0);
    assert_int_equal(feed(p, seg(true, A, 5012, 1094, 64240, 0)),
                     SLIRP_ANS_NONE);
    assert_int_equal(feed(p, seg(true, A, 5012, 1094, 64240, 0)),
                     SLIRP_ANS_RST);
    slirp_replay_free(p);
}

/* The guest's RST ends the connection without an answer (908-931); a
 * SYN-ACK that acknowledges a wrong sequence in SYN_SENT is reset (755);
 * the third duplicate ACK with data outstanding retransmits (1033). */
static void test_rst_and_dupacks(void **state)
{
    (void)state;
    slirp_replay_t *p = slirp_replay_new();
    assert_int_equal(feed(p, seg(false, S, 999, 0, 65535, 0)), 0);
    assert_int_equal(feed(p, seg(true, S | A, 5000, 777, 64240, 0)),
                     SLIRP_ANS_RST);
    slirp_replay_free(p);

    p = open_conn();
    assert_int_equal(feed(p, seg(true, A, 5001, 1093, 64240, 0)),
                     SLIRP_ANS_NONE);
    /* libslirp sends 100 bytes; the guest ACKs the old point thrice */
    assert_int_equal(feed(p, seg(false, P | A, 1093, 5001, 65535, 100)), 0);
    assert_int_equal(feed(p, seg(true, A, 5001, 1093, 64240, 0)),
                     SLIRP_ANS_NONE);
    assert_int_equal(feed(p, seg(true, A, 5001, 1093, 64240, 0)),
                     SLIRP_ANS_NONE);
    assert_int_equal(feed(p, seg(true, A, 5001, 1093, 64240, 0)),
                     SLIRP_ANS_AFTERACK);
    assert_int_equal(feed(p, seg(true, R | A, 5001, 1193, 0, 0)),
                     SLIRP_ANS_NONE);
    slirp_replay_free(p);
}

/* Bad input: a truncated pcap, a wrong magic, a cut TCP header. */
static void test_bad_input(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *d = slurp(head_pcap, &n);
    assert_non_null(d);
    iosim_err_t err = {0};
    /* cut inside frame 3's data */
    write_file(wpath("cut.pcap"), d, 24 + 3 * 16 + 90 + 90 + 42 + 20);
    pcap_reader_t *r = pcap_open(wpath("cut.pcap"), &err);
    assert_non_null(r);
    pcap_frame_t f;
    int k;
    while ((k = pcap_next(r, &f, &err)) == 1)
        ;
    assert_int_equal(k, -1);
    assert_non_null(strstr(err.msg, "cut.pcap: frame 3"));
    assert_non_null(strstr(err.msg, "truncated"));
    pcap_close(r);
    d[0] ^= 0x55;
    write_file(wpath("bad.pcap"), d, n);
    assert_null(pcap_open(wpath("bad.pcap"), &err));
    assert_non_null(strstr(err.msg, "not a pcap file"));
    write_file(wpath("short.pcap"), d, 10);
    assert_null(pcap_open(wpath("short.pcap"), &err));
    assert_non_null(strstr(err.msg, "truncated pcap header"));
    free(d);
    /* an IPv4 TCP frame whose TCP header ends early */
    uint8_t fr[14 + 20 + 10] = {0};
    fr[12] = 0x08;
    fr[14] = 0x45;
    fr[14 + 3] = 30; /* total length 30: 10 bytes of TCP */
    fr[14 + 9] = 6;
    slirp_seg_t s;
    char why[128];
    assert_int_equal(slirp_seg_parse(fr, sizeof fr, &s, why, sizeof why), -1);
    assert_non_null(strstr(why, "TCP header cut short"));
}

/* A tap's dump (--pcap-tap): each frame after QEMU's 12-byte virtio-net
 * header.  Three frames written here: the host's 16,496-byte GSO frame
 * to the guest (source MAC 1a:2d:..., the tap's), the guest's 60-byte
 * frame (52:54:00:12:34:56), the host's 66-byte ACK.  The guest's frame is a tx
 * frame, the other two rx frames whose lengths (without the header) the
 * rx pops get, in order. */
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_tap_dump(void **state)
{
    (void)state;
    static const uint8_t host[6] = {0x1a, 0x2d, 0x3a, 0x5c, 0x7c, 0xb1};
    static const uint8_t guest[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    const uint32_t wire[3] = {12 + 16496, 12 + 60, 12 + 66};
    const uint8_t *src[3] = {host, guest, host};
    uint8_t buf[24 + 3 * (16 + 12 + 60)] = {0};
    put32(buf, 0xa1b2c3d4);
    buf[4] = 2; /* version 2.4 */
    buf[6] = 4;
    put32(buf + 16, 65536); /* snaplen */
    put32(buf + 20, 1);     /* LINKTYPE_ETHERNET */
    size_t o = 24;
    for (int i = 0; i < 3; i++) {
        put32(buf + o, 1000);                   /* s */
        put32(buf + o + 4, (uint32_t)(10 * i)); /* us */
        put32(buf + o + 8, 12 + 60);            /* caplen: header + 60 */
        put32(buf + o + 12, wire[i]);
        uint8_t *e = buf + o + 16 + 12; /* the Ethernet header */
        memcpy(e + 6, src[i], 6);
        e[12] = 0x86; /* IPv6: not parsed further */
        e[13] = 0xdd;
        o += 16 + 12 + 60;
    }
    write_file(wpath("tap.pcap"), buf, o);
    iosim_err_t err = {0};
    pcap_join_t *j = pcap_join_new(wpath("tap.pcap"), true, &err);
    assert_non_null(j);
    assert_int_equal(pcap_join_frames(j), 1);
    assert_int_equal(pcap_join_rx_frames(j), 2);
    import_counts_t c = {0};
    uint64_t ft = 0;
    uint32_t len = 0;
    /* pops at the frames' times (the clock offset is 0 uncalibrated) */
    assert_int_equal(pcap_join_rx_pop(j, 1000000000000ull, &ft, &len, &c), 1);
    assert_int_equal(len, 16496);
    assert_int_equal(pcap_join_rx_pop(j, 1000000020000ull, &ft, &len, &c), 1);
    assert_int_equal(len, 66);
    assert_int_equal(ft, 1000000020000ull);
    pcap_join_free(j);
    /* the same dump read as user networking: no header skipped, so the
     * source MACs are the header's bytes, none libslirp's: all "guest" */
    j = pcap_join_new(wpath("tap.pcap"), false, &err);
    assert_non_null(j);
    assert_int_equal(pcap_join_rx_frames(j), 0);
    pcap_join_free(j);
    /* a frame shorter than the header and an Ethernet header */
    put32(buf + 24 + 8, 20);
    write_file(wpath("short-tap.pcap"), buf, 24 + 16 + 20);
    assert_null(pcap_join_new(wpath("short-tap.pcap"), true, &err));
    assert_non_null(strstr(err.msg, "frame 0: 20 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_head),
        cmocka_unit_test(test_replay_head),
        cmocka_unit_test(test_header_prediction),
        cmocka_unit_test(test_delayed_ack),
        cmocka_unit_test(test_fin_ooo_dup),
        cmocka_unit_test(test_rst_and_dupacks),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_tap_dump),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
