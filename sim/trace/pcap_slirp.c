/* pcap_slirp.c — pcap reading, Ethernet/IPv4/TCP parsing and the replay
 * of libslirp's tcp_input decisions (see pcap_slirp.h for the concepts,
 * assumptions and what is not modeled).  Line numbers below are libslirp
 * src/tcp_input.c at commit 5ac17660 (the rules are those of the 4.7.0
 * that Debian 12's QEMU 7.2 links: tcp_input.c is unchanged in them). */
#include "trace/pcap_slirp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/* ------------------------------------------------------------------ */
/* pcap file                                                           */
/* ------------------------------------------------------------------ */
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1u
#define PCAP_MAX_CAPLEN 262144u /* libpcap's MAXIMUM_SNAPLEN */
#define ZSTD_MAGIC 0xfd2fb528u

struct pcap_reader {
    FILE *f;
    char path[256];
    ZSTD_DStream *ds; /* NULL: plain file */
    uint8_t inbuf[65536];
    ZSTD_inBuffer zin;
    bool swap, nano;
    uint32_t snaplen;
    uint64_t index;   /* frames returned */
    uint64_t offset;  /* bytes of the pcap consumed */
    uint8_t *frame;   /* PCAP_MAX_CAPLEN bytes */
    uint8_t first[4]; /* the file's first bytes, replayed once */
    size_t nfirst, pos_first;
};

/* Up to n bytes of the pcap's content (after zstd), fewer only at its
 * end; -1 on a read or zstd error (err filled). */
static long rd(pcap_reader_t *r, uint8_t *out, size_t n, iosim_err_t *err)
{
    size_t got = 0;
    while (got < n && r->pos_first < r->nfirst && !r->ds)
        out[got++] = r->first[r->pos_first++];
    if (!r->ds) {
        got += fread(out + got, 1, n - got, r->f);
        if (got < n && ferror(r->f))
            return iosim_err_set(err, "%s: %s", r->path, strerror(errno));
        return (long)got;
    }
    while (got < n) {
        if (r->zin.pos == r->zin.size) {
            size_t k = fread(r->inbuf, 1, sizeof r->inbuf, r->f);
            if (k == 0) {
                if (ferror(r->f))
                    return iosim_err_set(err, "%s: %s", r->path,
                                         strerror(errno));
                break;
            }
            r->zin = (ZSTD_inBuffer){r->inbuf, k, 0};
        }
        ZSTD_outBuffer zo = {out + got, n - got, 0};
        size_t rc = ZSTD_decompressStream(r->ds, &zo, &r->zin);
        if (ZSTD_isError(rc))
            return iosim_err_set(err, "%s: corrupt zstd data: %s", r->path,
                                 ZSTD_getErrorName(rc));
        got += zo.pos;
        if (rc == 0 && zo.pos == 0 && r->zin.pos == r->zin.size && feof(r->f))
            break;
    }
    return (long)got;
}

static uint32_t get32(const pcap_reader_t *r, const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    return r->swap ? __builtin_bswap32(v) : v;
}

void pcap_close(pcap_reader_t *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    ZSTD_freeDStream(r->ds);
    free(r->frame);
    free(r);
}

pcap_reader_t *pcap_open(const char *path, iosim_err_t *err)
{
    pcap_reader_t *r = calloc(1, sizeof *r);
    if (!r || !(r->frame = malloc(PCAP_MAX_CAPLEN))) {
        free(r);
        iosim_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    snprintf(r->path, sizeof r->path, "%s", path);
    r->f = fopen(path, "rb");
    if (!r->f) {
        iosim_err_set(err, "%s: %s", path, strerror(errno));
        pcap_close(r);
        return NULL;
    }
    r->nfirst = fread(r->first, 1, 4, r->f);
    uint32_t m = r->nfirst == 4
                     ? (uint32_t)r->first[0] | (uint32_t)r->first[1] << 8 |
                           (uint32_t)r->first[2] << 16 |
                           (uint32_t)r->first[3] << 24
                     : 0;
    if (m == ZSTD_MAGIC) {
        r->ds = ZSTD_createDStream();
        if (r->ds)
            rewind(r->f);
        if (!r->ds || ferror(r->f)) {
            iosim_err_set(err, "%s: cannot read it again", path);
            pcap_close(r);
            return NULL;
        }
        r->zin = (ZSTD_inBuffer){r->inbuf, 0, 0};
    }
    uint8_t h[24];
    long got = rd(r, h, sizeof h, err);
    if (got < 0) {
        pcap_close(r);
        return NULL;
    }
    if (got < 24) {
        iosim_err_set(err, "%s: truncated pcap header (%ld of 24 bytes)", path,
                      got);
        pcap_close(r);
        return NULL;
    }
    uint32_t magic = get32(r, h);
    if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
        r->swap = true;
        magic = get32(r, h);
    }
    if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
        iosim_err_set(err, "%s: not a pcap file (magic 0x%08x)", path,
                      get32(r, h));
        pcap_close(r);
        return NULL;
    }
    r->nano = magic == PCAP_MAGIC_NS;
    uint32_t ver = get32(r, h + 4);
    uint16_t major = (uint16_t)(r->swap ? ver >> 16 : ver & 0xffff);
    r->snaplen = get32(r, h + 16);
    uint32_t link = get32(r, h + 20) & 0x0fffffffu; /* FCS bits above */
    if (major != 2) {
        iosim_err_set(err, "%s: unsupported pcap version %u", path, major);
        pcap_close(r);
        return NULL;
    }
    if (link != PCAP_LINKTYPE_ETHERNET) {
        iosim_err_set(err,
                      "%s: link type %u, not Ethernet (1): not a "
                      "netdev dump",
                      path, link);
        pcap_close(r);
        return NULL;
    }
    r->offset = 24;
    return r;
}

int pcap_next(pcap_reader_t *r, pcap_frame_t *f, iosim_err_t *err)
{
    uint8_t h[16];
    long got = rd(r, h, sizeof h, err);
    if (got < 0)
        return -1;
    if (got == 0)
        return 0;
    if (got < 16)
        return iosim_err_set(err,
                             "%s: frame %llu (byte %llu): truncated record "
                             "header",
                             r->path, (unsigned long long)r->index,
                             (unsigned long long)r->offset);
    uint32_t sec = get32(r, h), frac = get32(r, h + 4);
    uint32_t caplen = get32(r, h + 8), len = get32(r, h + 12);
    if (caplen > PCAP_MAX_CAPLEN || caplen > len ||
        frac >= (r->nano ? 1000000000u : 1000000u))
        return iosim_err_set(err,
                             "%s: frame %llu (byte %llu): bad record header "
                             "(caplen %u, len %u, fraction %u)",
                             r->path, (unsigned long long)r->index,
                             (unsigned long long)r->offset, caplen, len, frac);
    got = rd(r, r->frame, caplen, err);
    if (got < 0)
        return -1;
    if ((uint32_t)got < caplen)
        return iosim_err_set(err,
                             "%s: frame %llu (byte %llu): truncated (%ld of "
                             "%u bytes)",
                             r->path, (unsigned long long)r->index,
                             (unsigned long long)r->offset, got, caplen);
    f->index = r->index++;
    f->t_ns =
        (uint64_t)sec * 1000000000u + (r->nano ? frac : (uint64_t)frac * 1000u);
    f->caplen = caplen;
    f->len = len;
    f->data = r->frame;
    r->offset += 16 + caplen;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Ethernet / IPv4 / TCP                                               */
/* ------------------------------------------------------------------ */
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

int slirp_seg_parse(const uint8_t *d, uint32_t caplen, slirp_seg_t *s,
                    char *why, size_t whylen)
{
    memset(s, 0, sizeof *s);
    if (caplen < 14) {
        snprintf(why, whylen, "Ethernet header cut short (%u bytes)", caplen);
        return -1;
    }
    /* libslirp's virtual hosts: 52:55 and the host's IPv4 address
     * (slirp.c special_ethaddr), 52:56 and the end of its IPv6 one (ip6.h
     * in6_compute_ethaddr) */
    s->from_guest = !(d[6] == 0x52 && (d[7] == 0x55 || d[7] == 0x56));
    if (be16(d + 12) != 0x0800) /* ETH_P_IP */
        return 0;
    const uint8_t *ip = d + 14;
    uint32_t iplen = caplen - 14;
    if (iplen < 20 || (ip[0] >> 4) != 4) {
        snprintf(why, whylen, "IPv4 header cut short or not version 4");
        return -1;
    }
    uint32_t ihl = (ip[0] & 0x0fu) * 4u, tot = be16(ip + 2);
    if (ihl < 20 || tot < ihl || iplen < ihl) {
        snprintf(why, whylen, "bad IPv4 header (IHL %u, total length %u)", ihl,
                 tot);
        return -1;
    }
    if (ip[9] != 6) /* IPPROTO_TCP */
        return 0;
    if (be16(ip + 6) & 0x3fff) /* a fragment (MF or offset): not modeled */
        return 0;
    const uint8_t *th = ip + ihl;
    uint32_t tcplen = tot - ihl;
    if (tcplen < 20 || iplen < ihl + 20) {
        snprintf(why, whylen, "TCP header cut short (%u bytes)",
                 tcplen < iplen - ihl ? tcplen : iplen - ihl);
        return -1;
    }
    uint32_t doff = (th[12] >> 4) * 4u;
    if (doff < 20 || doff > tcplen) {
        snprintf(why, whylen, "bad TCP data offset %u (segment %u bytes)", doff,
                 tcplen);
        return -1;
    }
    s->tcp = true;
    s->saddr = be32(ip + 12);
    s->daddr = be32(ip + 16);
    s->sport = be16(th);
    s->dport = be16(th + 2);
    s->seq = be32(th + 4);
    s->ack = be32(th + 8);
    s->flags = th[13] & 0x3f;
    s->win = be16(th + 14);
    s->len = tcplen - doff;
    if (s->len && iplen > ihl + doff)
        s->first_byte = th[doff];
    return 0;
}

/* ------------------------------------------------------------------ */
/* libslirp tcp_input replay                                           */
/* ------------------------------------------------------------------ */
/* libslirp src/tcp.h */
enum {
    TCPS_CLOSED = 0,
    TCPS_LISTEN = 1,
    TCPS_SYN_SENT = 2,
    TCPS_SYN_RECEIVED = 3,
    TCPS_ESTABLISHED = 4,
    TCPS_CLOSE_WAIT = 5,
    TCPS_FIN_WAIT_1 = 6,
    TCPS_CLOSING = 7,
    TCPS_LAST_ACK = 8,
    TCPS_FIN_WAIT_2 = 9,
    TCPS_TIME_WAIT = 10,
};
#define HAVERCVDFIN(s) ((s) >= TCPS_TIME_WAIT) /* tcp.h */
#define TCPREXMTTHRESH 3                       /* tcp_var.h */
#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)

typedef struct slirp_tcb {
    uint32_t gaddr, paddr; /* guest and peer (libslirp side) */
    uint16_t gport, pport;
    int state;
    uint32_t iss, snd_una, snd_max, snd_wnd, snd_wl1, snd_wl2;
    uint32_t rcv_nxt;
    uint32_t dupacks;
    bool fin_sent; /* libslirp sent its FIN, at sequence fin_seq */
    uint32_t fin_seq;
} slirp_tcb_t;

struct slirp_replay {
    slirp_tcb_t *c;
    size_t n, cap;
};

const char *slirp_answer_name(slirp_answer_t a)
{
    static const char *const names[SLIRP_ANS_COUNT] = {
        "none", "syn", "data", "fin", "reass", "dup", "afterack", "rst"};
    return (unsigned)a < SLIRP_ANS_COUNT ? names[a] : "?";
}

slirp_replay_t *slirp_replay_new(void)
{
    return calloc(1, sizeof(slirp_replay_t));
}

void slirp_replay_free(slirp_replay_t *p)
{
    if (p)
        free(p->c);
    free(p);
}

static slirp_tcb_t *tcb_find(slirp_replay_t *p, uint32_t ga, uint16_t gp,
                             uint32_t pa, uint16_t pp)
{
    for (size_t i = p->n; i-- > 0;) {
        slirp_tcb_t *t = &p->c[i];
        if (t->gaddr == ga && t->gport == gp && t->paddr == pa &&
            t->pport == pp)
            return t;
    }
    return NULL;
}

static slirp_tcb_t *tcb_new(slirp_replay_t *p, uint32_t ga, uint16_t gp,
                            uint32_t pa, uint16_t pp)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        slirp_tcb_t *c = realloc(p->c, cap * sizeof *c);
        if (!c)
            return NULL;
        p->c = c;
        p->cap = cap;
    }
    slirp_tcb_t *t = &p->c[p->n++];
    memset(t, 0, sizeof *t);
    t->gaddr = ga;
    t->gport = gp;
    t->paddr = pa;
    t->pport = pp;
    return t;
}

/* tcp_close: the socket and its tcpcb go; a later segment finds none */
static void tcb_drop(slirp_replay_t *p, slirp_tcb_t *t) { *t = p->c[--p->n]; }

/* A segment libslirp sent: what it has sent (snd_max) and its state
 * changes (tcp_connect -> SYN_SENT; tcp_sockclosed/tcp_usrclosed: a FIN
 * from ESTABLISHED -> FIN_WAIT_1, from CLOSE_WAIT -> LAST_ACK; an RST:
 * the connection is gone). */
static int slirp_sent(slirp_replay_t *p, const slirp_seg_t *s)
{
    slirp_tcb_t *t = tcb_find(p, s->daddr, s->dport, s->saddr, s->sport);
    if ((s->flags & (SLIRP_TH_SYN | SLIRP_TH_ACK)) == SLIRP_TH_SYN) {
        if (!t && !(t = tcb_new(p, s->daddr, s->dport, s->saddr, s->sport)))
            return -1;
        memset(&t->state, 0, sizeof *t - offsetof(slirp_tcb_t, state));
        t->state = TCPS_SYN_SENT;
        t->iss = t->snd_una = s->seq;
        t->snd_max = s->seq + 1;
        return 0;
    }
    if (!t)
        return 0;
    if ((s->flags & SLIRP_TH_SYN) && t->state == TCPS_SYN_RECEIVED &&
        t->snd_max == 0) { /* our SYN-ACK to a guest's SYN: iss */
        t->iss = t->snd_una = s->seq;
        t->snd_max = s->seq + 1;
        return 0;
    }
    if (s->flags & SLIRP_TH_RST) {
        tcb_drop(p, t);
        return 0;
    }
    uint32_t end = s->seq + s->len + !!(s->flags & SLIRP_TH_SYN) +
                   !!(s->flags & SLIRP_TH_FIN);
    if (SEQ_GT(end, t->snd_max))
        t->snd_max = end;
    if ((s->flags & SLIRP_TH_FIN) && !t->fin_sent) {
        t->fin_sent = true;
        t->fin_seq = s->seq + s->len;
        if (t->state == TCPS_ESTABLISHED || t->state == TCPS_SYN_RECEIVED)
            t->state = TCPS_FIN_WAIT_1;
        else if (t->state == TCPS_CLOSE_WAIT)
            t->state = TCPS_LAST_ACK;
    }
    return 0;
}

/* tcp_input on a guest segment (the numbers are tcp_input.c lines). */
static slirp_answer_t guest_input(slirp_replay_t *p, const slirp_seg_t *s,
                                  int *oom)
{
    uint8_t fl = s->flags;
    uint32_t seq = s->seq, len = s->len, tiwin = s->win;
    slirp_tcb_t *t = tcb_find(p, s->saddr, s->sport, s->daddr, s->dport);
    slirp_answer_t why = SLIRP_ANS_NONE; /* the first TF_ACKNOW's path */
    bool acknow = false;
#define ACKNOW(w)                                                              \
    do {                                                                       \
        if (!acknow)                                                           \
            why = (w);                                                         \
        acknow = true;                                                         \
    } while (0)
    if (!t) {
        /* 388-408: no socket: only a bare SYN makes one (LISTEN), anything
         * else goes to dropwithreset (1354: an RST back) */
        if ((fl & (SLIRP_TH_SYN | SLIRP_TH_FIN | SLIRP_TH_RST | SLIRP_TH_URG |
                   SLIRP_TH_ACK)) != SLIRP_TH_SYN)
            return SLIRP_ANS_RST;
        if (!(t = tcb_new(p, s->saddr, s->sport, s->daddr, s->dport))) {
            *oom = 1;
            return SLIRP_ANS_NONE;
        }
        t->state = TCPS_LISTEN;
    }
    if (t->state == TCPS_CLOSED) /* 453 */
        return SLIRP_ANS_NONE;
    /* 493-563: header prediction */
    if (t->state == TCPS_ESTABLISHED &&
        (fl & (SLIRP_TH_SYN | SLIRP_TH_FIN | SLIRP_TH_RST | SLIRP_TH_URG |
               SLIRP_TH_ACK)) == SLIRP_TH_ACK &&
        seq == t->rcv_nxt && tiwin && tiwin == t->snd_wnd) {
        if (len == 0) {
            if (SEQ_GT(s->ack, t->snd_una) && SEQ_LEQ(s->ack, t->snd_max)) {
                /* 499-532: a pure ACK of outstanding data; tcp_output only
                 * with data in so_snd, none unsent (assumption) */
                t->snd_una = s->ack;
                return SLIRP_ANS_NONE;
            }
        } else if (s->ack == t->snd_una) {
            /* 533-562: in-sequence data acknowledging nothing new: "ACK
             * now" */
            t->rcv_nxt += len;
            return SLIRP_ANS_DATA;
        }
    }
    switch (t->state) {
    case TCPS_LISTEN: /* 592-738 */
        if (fl & SLIRP_TH_RST)
            return SLIRP_ANS_NONE;
        if (fl & SLIRP_TH_ACK)
            return SLIRP_ANS_RST;
        if (!(fl & SLIRP_TH_SYN))
            return SLIRP_ANS_NONE;
        /* tcp_sendseqinit / tcp_rcvseqinit: our SYN-ACK goes at once
         * (735 TF_ACKNOW); iss unknown until libslirp's segment shows it */
        t->rcv_nxt = seq + 1;
        t->state = TCPS_SYN_RECEIVED;
        t->snd_wnd = tiwin;
        return SLIRP_ANS_SYN;
    case TCPS_SYN_SENT: /* 753-806 */
        if ((fl & SLIRP_TH_ACK) &&
            (SEQ_LEQ(s->ack, t->iss) || SEQ_GT(s->ack, t->snd_max)))
            return SLIRP_ANS_RST;
        if (fl & SLIRP_TH_RST) {
            if (fl & SLIRP_TH_ACK)
                tcb_drop(p, t); /* tcp_drop */
            return SLIRP_ANS_NONE;
        }
        if (!(fl & SLIRP_TH_SYN))
            return SLIRP_ANS_NONE;
        if (fl & SLIRP_TH_ACK)
            t->snd_una = s->ack;
        t->rcv_nxt = seq + 1;
        ACKNOW(SLIRP_ANS_SYN); /* 776 */
        t->state = (fl & SLIRP_TH_ACK) && SEQ_GT(t->snd_una, t->iss)
                       ? TCPS_ESTABLISHED
                       : TCPS_SYN_RECEIVED;
        seq++; /* trimthenstep6 */
        t->snd_wl1 = seq - 1;
        goto step6;
    default:
        break;
    }
    /* 812-856: data before rcv_nxt */
    int32_t todrop = (int32_t)(t->rcv_nxt - seq);
    if (todrop > 0) {
        if (fl & SLIRP_TH_SYN) {
            fl &= (uint8_t)~SLIRP_TH_SYN;
            seq++;
            todrop--;
        }
        if ((uint32_t)todrop > len ||
            ((uint32_t)todrop == len && !(fl & SLIRP_TH_FIN))) {
            fl &= (uint8_t)~SLIRP_TH_FIN;
            ACKNOW(SLIRP_ANS_DUP); /* 841 */
            todrop = (int32_t)len;
        }
        seq += (uint32_t)todrop;
        len -= (uint32_t)todrop;
    }
    if (fl & SLIRP_TH_RST) { /* 908-931: the connection goes, nothing sent */
        tcb_drop(p, t);
        return SLIRP_ANS_NONE;
    }
    if (fl & SLIRP_TH_SYN) { /* 933-936: tcp_drop + dropwithreset */
        tcb_drop(p, t);
        return SLIRP_ANS_RST;
    }
    if (!(fl & SLIRP_TH_ACK)) /* 941-942 */
        return SLIRP_ANS_NONE;
    bool needoutput = false;
    (void)needoutput; /* sends nothing without TF_ACKNOW (assumption) */
    if (t->state == TCPS_SYN_RECEIVED) { /* 953-986 */
        if (SEQ_GT(t->snd_una, s->ack) || SEQ_GT(s->ack, t->snd_max))
            return SLIRP_ANS_RST;
        t->state = TCPS_ESTABLISHED;
        t->snd_una = s->ack;
        t->snd_wl1 = seq - 1;
        goto synrx_to_est;
    }
    /* 997-1181: ESTABLISHED .. TIME_WAIT */
    if (SEQ_LEQ(s->ack, t->snd_una)) {
        if (len == 0 && tiwin == t->snd_wnd) {
            /* 1031-1057: a duplicate ACK; the third one with data
             * outstanding (the retransmit timer runs) retransmits */
            if (t->snd_una == t->snd_max || s->ack != t->snd_una)
                t->dupacks = 0;
            else if (++t->dupacks >= TCPREXMTTHRESH)
                return SLIRP_ANS_AFTERACK;
        } else
            t->dupacks = 0;
        goto step6;
    }
synrx_to_est:
    t->dupacks = 0;
    if (SEQ_GT(s->ack, t->snd_max)) { /* 1068-1071: dropafterack */
        return SLIRP_ANS_AFTERACK;
    }
    {
        bool ourfinisacked = t->fin_sent && SEQ_GT(s->ack, t->fin_seq);
        t->snd_una = s->ack;
        switch (t->state) { /* 1124-1180 */
        case TCPS_FIN_WAIT_1:
            if (ourfinisacked)
                t->state = TCPS_FIN_WAIT_2;
            break;
        case TCPS_CLOSING:
            if (ourfinisacked)
                t->state = TCPS_TIME_WAIT;
            break;
        case TCPS_LAST_ACK:
            if (ourfinisacked) { /* tcp_close; drop */
                tcb_drop(p, t);
                return acknow ? why : SLIRP_ANS_NONE;
            }
            break;
        case TCPS_TIME_WAIT:
            return SLIRP_ANS_AFTERACK;
        default:
            break;
        }
    }
step6:
    /* 1183-1199: window update */
    if ((fl & SLIRP_TH_ACK) &&
        (SEQ_LT(t->snd_wl1, seq) ||
         (t->snd_wl1 == seq &&
          (SEQ_LT(t->snd_wl2, s->ack) ||
           (t->snd_wl2 == s->ack && tiwin > t->snd_wnd))))) {
        t->snd_wnd = tiwin;
        t->snd_wl1 = seq;
        t->snd_wl2 = s->ack;
    }
    /* 1245-1254: a short segment starting with ESC is ACKed now */
    if (len && len <= 5 && s->first_byte == 27 && seq == s->seq)
        ACKNOW(SLIRP_ANS_DATA);
    /* 1265-1271: the segment's text */
    if ((len || (fl & SLIRP_TH_FIN)) && !HAVERCVDFIN(t->state)) {
        if (seq == t->rcv_nxt && t->state == TCPS_ESTABLISHED) {
            t->rcv_nxt += len; /* TF_DELACK */
        } else {
            /* tcp_reass: in order, it is delivered (and its FIN kept) */
            if (seq == t->rcv_nxt)
                t->rcv_nxt += len;
            else
                fl &= (uint8_t)~SLIRP_TH_FIN;
            ACKNOW(SLIRP_ANS_REASS);
        }
    } else
        fl &= (uint8_t)~SLIRP_TH_FIN;
    if (fl & SLIRP_TH_FIN) { /* 1276-1334 */
        if (!HAVERCVDFIN(t->state)) {
            ACKNOW(SLIRP_ANS_FIN);
            t->rcv_nxt++;
        }
        switch (t->state) {
        case TCPS_SYN_RECEIVED:
        case TCPS_ESTABLISHED:
            t->state = TCPS_CLOSE_WAIT;
            break;
        case TCPS_FIN_WAIT_1:
            t->state = TCPS_CLOSING;
            break;
        case TCPS_FIN_WAIT_2:
            t->state = TCPS_TIME_WAIT;
            break;
        default:
            break;
        }
    }
    /* 1337-1339: tcp_output; it sends at once with TF_ACKNOW */
    return acknow ? why : SLIRP_ANS_NONE;
#undef ACKNOW
}

int slirp_replay_frame(slirp_replay_t *p, const slirp_seg_t *s)
{
    if (!s->tcp)
        return SLIRP_ANS_NONE;
    if (!s->from_guest)
        return slirp_sent(p, s) ? -1 : SLIRP_ANS_NONE;
    int oom = 0;
    slirp_answer_t a = guest_input(p, s, &oom);
    return oom ? -1 : (int)a;
}
