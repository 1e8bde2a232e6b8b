/* pcap_slirp.h — a QEMU filter-dump pcap of a user-networking netdev
 * (libslirp), and libslirp's tcp_input answer to every guest TCP segment
 * in it.
 *
 * Concepts:
 *   - pcap_open / pcap_next read a classic pcap file (plain or zstd):
 *     the 24-byte file header (magic 0xa1b2c3d4 for microsecond or
 *     0xa1b23c4d for nanosecond stamps, in either byte order; version
 *     2.4; LINKTYPE_ETHERNET = 1 only), then per frame a 16-byte record
 *     header (ts_sec, ts_frac, caplen, len) and caplen bytes.  QEMU's
 *     net/dump.c writes it (filter-dump): every frame crossing the netdev,
 *     both ways, in the order QEMU handles them.
 *   - slirp_seg_parse reads Ethernet II / IPv4 / TCP headers of a frame
 *     (RFC 894, RFC 791, RFC 793); anything else is "not TCP".  A frame
 *     comes from libslirp when its source MAC begins 52:55 (libslirp
 *     slirp.c special_ethaddr, the virtual hosts' IPv4 side) or 52:56
 *     (ip6.h in6_compute_ethaddr, their IPv6 side), else from the guest.
 *   - slirp_replay_frame keeps, per connection, the part of libslirp's
 *     tcpcb that tcp_input's choice between "ACK now" and "later" reads
 *     (t_state, iss, snd_una, snd_max, snd_wnd, snd_wl1/2, rcv_nxt,
 *     t_dupacks, our FIN's sequence), from both directions of the pcap,
 *     and returns for a guest segment whether tcp_input calls tcp_output
 *     with something to send before it returns, i.e. inside QEMU's
 *     virtio_net_flush_tx (docs/dev-virtio-net.md), and why: the code
 *     path of libslirp src/tcp_input.c tcp_input (commit 5ac17660) that
 *     set TF_ACKNOW or answered.
 * Assumptions (each a libslirp state the pcap does not show):
 *   - snd_nxt == snd_max (libslirp is not retransmitting), snd_cwnd >=
 *     snd_wnd (tcp_newtcpcb starts it at TCP_MAXWIN << TCP_MAX_WINSHIFT),
 *     so_rcv has room for the segment (sbspace), no urgent data.
 *   - tcp_output called without TF_ACKNOW (needoutput: an ACK of all our
 *     data, a window update; the pure-ACK prediction with data in
 *     so_snd) sends nothing: libslirp sends host data as it reads it
 *     (slirp_pollfds_poll -> soread -> tcp_output), so none waits
 *     unsent, and a window update needs 2 * t_maxseg of new receive
 *     space (tcp_output.c), which request/response loads never free.
 *   - The reassembly queue is empty unless a segment ahead of rcv_nxt
 *     came (then it is answered, TCP_REASS's else branch, and rcv_nxt
 *     stays).
 * Not modeled: IPv6 TCP, IP options' effect beyond the header length,
 *   IP fragments (a fragment is "not TCP"), the 2-MSL timer (a closed
 *   connection's tcpcb is dropped at LAST_ACK's ACK of our FIN, as
 *   tcp_close does; TIME_WAIT ones are kept), keep-alives.
 */
#ifndef IOSIM_PCAP_SLIRP_H
#define IOSIM_PCAP_SLIRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iosim.h"

typedef struct pcap_reader pcap_reader_t;

typedef struct pcap_frame {
    uint64_t index;      /* frame number, from 0                    */
    uint64_t t_ns;       /* time stamp, ns since the epoch          */
    uint32_t caplen;     /* bytes stored                            */
    uint32_t len;        /* bytes on the wire                       */
    const uint8_t *data; /* caplen bytes, valid until the next call */
} pcap_frame_t;

/* Opens path (plain pcap, or one zstd stream of it).  NULL and a
 * one-line "path: why" in err when it cannot be read or its header is
 * not one of a pcap of Ethernet frames. */
pcap_reader_t *pcap_open(const char *path, iosim_err_t *err);
/* 1 and the next frame, 0 at the end, -1 ("path: frame N: why") on a
 * truncated or malformed record. */
int pcap_next(pcap_reader_t *r, pcap_frame_t *f, iosim_err_t *err);
void pcap_close(pcap_reader_t *r);

#define SLIRP_TH_FIN 0x01
#define SLIRP_TH_SYN 0x02
#define SLIRP_TH_RST 0x04
#define SLIRP_TH_PUSH 0x08
#define SLIRP_TH_ACK 0x10
#define SLIRP_TH_URG 0x20

typedef struct slirp_seg {
    bool from_guest; /* source MAC not libslirp's 52:55 / 52:56    */
    bool tcp;        /* an IPv4 TCP segment (fields below)        */
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t win;
    uint8_t flags;      /* SLIRP_TH_*                              */
    uint32_t len;       /* TCP payload bytes (IP total length)     */
    uint8_t first_byte; /* payload's first byte (0 if none stored) */
} slirp_seg_t;

/* Parses one Ethernet frame of caplen bytes.  0 (s filled; s->tcp false
 * for a frame that is not IPv4 TCP), -1 with a reason in why when an
 * IPv4 TCP frame's headers are cut short or inconsistent. */
int slirp_seg_parse(const uint8_t *d, uint32_t caplen, slirp_seg_t *s,
                    char *why, size_t whylen);

/* What tcp_input does with a guest segment: SLIRP_ANS_NONE = nothing sent
 * before it returns; the others: it sends (one segment: an ACK, or the
 * RST of tcp_respond) inside the element, by this code path of
 * libslirp src/tcp_input.c tcp_input. */
typedef enum slirp_answer {
    SLIRP_ANS_NONE = 0,
    SLIRP_ANS_SYN = 1,      /* case TCPS_SYN_SENT / TCPS_LISTEN: TF_ACKNOW  */
    SLIRP_ANS_DATA = 2,     /* header prediction, in-sequence data that
                               acknowledges nothing new: "ACK now"          */
    SLIRP_ANS_FIN = 3,      /* the TH_FIN block after dodata: TF_ACKNOW     */
    SLIRP_ANS_REASS = 4,    /* TCP_REASS's else branch (out of order, or
                               data outside ESTABLISHED): TF_ACKNOW         */
    SLIRP_ANS_DUP = 5,      /* data wholly before rcv_nxt (todrop): ACK     */
    SLIRP_ANS_AFTERACK = 6, /* dropafterack (ACK beyond snd_max,
                               TIME_WAIT), or the third duplicate ACK's
                               retransmission (TCPREXMTTHRESH)       */
    SLIRP_ANS_RST = 7,      /* dropwithreset (no tcpcb, a SYN in window,
                               a bad ACK in SYN_SENT/SYN_RECEIVED)   */
} slirp_answer_t;
#define SLIRP_ANS_COUNT 8
const char *slirp_answer_name(slirp_answer_t a);

typedef struct slirp_replay slirp_replay_t;
slirp_replay_t *slirp_replay_new(void);
/* Feeds one frame (both directions, in pcap order).  For a guest TCP
 * segment returns tcp_input's answer and updates the connection as
 * tcp_input would; for libslirp's segments updates what it sent and
 * returns SLIRP_ANS_NONE; other frames: SLIRP_ANS_NONE.  -1 when out of
 * memory. */
int slirp_replay_frame(slirp_replay_t *p, const slirp_seg_t *s);
void slirp_replay_free(slirp_replay_t *p);

#endif
