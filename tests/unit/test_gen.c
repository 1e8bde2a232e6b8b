/* test_gen.c — synthetic trace generators (sim/trace/gen_*.c).
 *
 * Concepts: each test calls a generator's library API, writes a trace to a
 * scratch file, reads it back with iosim_trace_open/read and checks it by
 * an independent route: counts and bounds computed here from the
 * parameters (window / page, ring / descriptor arithmetic, flows taken
 * round-robin), and a live-mapping tracker in this file that replays
 * MAP/UNMAP/DMA and rejects any DMA to an IOVA that is not mapped.
 * Assumptions: /tmp is writable (a mkdtemp directory, removed at the end).
 * Not covered here: the iosim-trace gen command line (tests/cli/gen.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iosim.h"
#include "tools/param_args.h"
#include "trace/gen.h"

#include "test_util.h"

/* Whole trace in memory (small traces only). */
typedef struct trace {
    iosim_trace_meta_t meta;
    iosim_rec_t *r;
    size_t n;
    size_t per_kind[IOSIM_REC_KIND_MAX + 1];
    size_t requests;
} trace_t;

/* t's counts, checked: known kinds, in time order */
static trace_t tally(trace_t t)
{
    for (size_t i = 0; i < t.n; i++) {
        assert_true(t.r[i].kind >= 1 && t.r[i].kind <= IOSIM_REC_KIND_MAX);
        t.per_kind[t.r[i].kind]++;
        if (t.r[i].kind == IOSIM_REC_MARK && t.r[i].flags == IOSIM_MARK_REQUEST)
            t.requests++;
        if (i)
            assert_true(t.r[i].t >= t.r[i - 1].t); /* time order */
    }
    return t;
}

static trace_t load(const char *path)
{
    trace_t t = {.n = 0};
    t.n = read_whole_trace(path, &t.r, &t.meta);
    return tally(t);
}

/* The trace gen nic makes of p, in the scratch file name */
static trace_t nic_trace(const gen_nic_params_t *p, const char *name)
{
    trace_t t = {.n = 0};
    t.n = gen_nic_records(p, name, &t.r, &t.meta);
    return tally(t);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ================================================================= */
/* gen random                                                        */
/* ================================================================= */
static void check_random(const gen_random_params_t *p, const char *name)
{
    trace_t t = {.n = 0};
    t.n = gen_random_records(p, name, &t.r, &t.meta);
    t = tally(t);
    uint64_t ps = p->page_size;
    uint64_t base = (p->iova_base + ps - 1) / ps * ps; /* round up */
    uint64_t pages = p->window / ps;

    assert_string_equal(t.meta.source, "gen-random");
    assert_int_equal(t.meta.has_dma, 1);
    assert_int_equal(t.per_kind[IOSIM_REC_DMA], p->count);
    assert_int_equal(t.per_kind[IOSIM_REC_MAP], pages);
    assert_int_equal(t.per_kind[IOSIM_REC_UNMAP], pages);
    assert_int_equal(t.per_kind[IOSIM_REC_INVAL], 0);
    assert_int_equal(t.requests, p->marks ? p->count : 0);

    uint64_t *phys = malloc(pages * sizeof *phys);
    assert_non_null(phys);
    size_t nmap = 0, ndma = 0;
    bool mapping_done = false;
    for (size_t i = 0; i < t.n; i++) {
        const iosim_rec_t *r = &t.r[i];
        assert_int_equal(r->domain, p->domain);
        assert_int_equal(r->device, p->device);
        if (r->kind == IOSIM_REC_MAP) {
            assert_false(mapping_done); /* all maps come first */
            assert_int_equal(r->size, ps);
            assert_int_equal(r->iova, base + nmap * ps); /* contiguous */
            assert_int_equal(r->aux % ps, 0);            /* phys aligned */
            phys[nmap++] = r->aux;
        } else if (r->kind == IOSIM_REC_DMA) {
            mapping_done = true;
            ndma++;
            assert_int_equal(r->size, p->size);
            assert_true(r->iova >= base);
            assert_true(r->iova - base + r->size <= p->window);
            assert_int_equal((r->iova - base) % p->size, 0);
            assert_int_equal(r->flags,
                             p->write ? IOSIM_DMA_WRITE : IOSIM_DMA_READ);
        } else if (r->kind == IOSIM_REC_UNMAP) {
            assert_int_equal(ndma, p->count); /* unmaps only at the end */
        }
    }
    qsort(phys, nmap, sizeof *phys, cmp_u64);
    for (size_t i = 1; i < nmap; i++)
        assert_true(phys[i] != phys[i - 1]); /* distinct frames */
    free(phys);
    free(t.r);
}

static void test_random_basic(void **state)
{
    (void)state;
    gen_random_params_t p;
    gen_random_defaults(&p);
    p.window = 1 << 20;
    p.size = 64;
    p.count = 5000;
    p.write = true;
    check_random(&p, "r4k.zst");

    p.page_size = 2u << 20;
    p.window = 64u << 20; /* 32 pages */
    p.size = 4096;
    p.write = false;
    p.marks = false;
    p.iova_base = 0x100001000ULL; /* rounds up to 0x100200000 */
    check_random(&p, "r2m.zst");

    p.page_size = 1u << 30;
    p.window = 2ULL << 30; /* 2 pages */
    p.size = 3000;         /* not a power of two: offsets k * 3000 */
    p.iova_base = 0;
    check_random(&p, "r1g.zst");
}

static void test_random_deterministic(void **state)
{
    (void)state;
    gen_random_params_t p;
    gen_random_defaults(&p);
    p.window = 1 << 22;
    p.count = 20000;
    iosim_err_t err;
    assert_int_equal(gen_random_write(&p, wpath("a.zst"), false, &err), 0);
    assert_int_equal(gen_random_write(&p, wpath("b.zst"), false, &err), 0);
    p.seed = 2;
    assert_int_equal(gen_random_write(&p, wpath("c.zst"), false, &err), 0);
    size_t la, lb, lc;
    unsigned char *a = slurp(wpath("a.zst"), &la);
    unsigned char *b = slurp(wpath("b.zst"), &lb);
    unsigned char *c = slurp(wpath("c.zst"), &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(la != lc || memcmp(a, c, la) != 0);
    free(a);
    free(b);
    free(c);
}

/* Offsets are uniform: 64 slots, 64000 draws, every slot within 20% of
 * 1000 (binomial sd ~31, so 200 is > 6 sd: a correct PRNG never fails). */
static void test_random_uniform(void **state)
{
    (void)state;
    gen_random_params_t p;
    gen_random_defaults(&p);
    p.window = 64 * 4096;
    p.size = 4096;
    p.count = 64000;
    p.marks = false;
    trace_t t = {.n = 0};
    t.n = gen_random_records(&p, "u.zst", &t.r, NULL);
    unsigned hist[64] = {0};
    for (size_t i = 0; i < t.n; i++)
        if (t.r[i].kind == IOSIM_REC_DMA)
            hist[(t.r[i].iova - p.iova_base) / 4096]++;
    for (int s = 0; s < 64; s++)
        assert_in_range(hist[s], 800, 1200);
    free(t.r);
}

static void test_random_bad(void **state)
{
    (void)state;
    gen_random_params_t p;
    iosim_err_t err;
    const char *path = wpath("bad.zst");

    gen_random_defaults(&p);
    p.window = 4096;
    p.size = 8192; /* larger than the window */
    err.msg[0] = 0;
    assert_int_equal(gen_random_write(&p, path, false, &err), -1);
    assert_non_null(strstr(err.msg, "--size"));
    assert_null(strchr(err.msg, '\n'));

    gen_random_defaults(&p);
    p.page_size = 8192;
    assert_int_equal(gen_random_write(&p, path, false, &err), -1);
    assert_non_null(strstr(err.msg, "--page-size"));

    gen_random_defaults(&p);
    p.page_size = 2u << 20;
    p.window = 3u << 20; /* not a multiple of 2M */
    assert_int_equal(gen_random_write(&p, path, false, &err), -1);

    gen_random_defaults(&p);
    p.iova_base = (1ULL << 48) - 4096; /* window would pass 2^48 */
    assert_int_equal(gen_random_write(&p, path, false, &err), -1);
    assert_false(file_exists(path));
}

/* ================================================================= */
/* gen nic                                                           */
/* ================================================================= */
#define PFNS (1u << 20) /* IOVA pages below 4 GiB */

typedef struct nic_check {
    size_t peak_live;
    size_t distinct_iovas;
    size_t dma_write, dma_read;
    size_t ack_maps, ack_maps_lifo;
} nic_check_t;

/* Replays the trace against a live-mapping table of the 32-bit IOVA
 * space and checks every record; returns what it measured. */
static nic_check_t replay_nic(const trace_t *t, const gen_nic_params_t *p)
{
    nic_check_t c;
    memset(&c, 0, sizeof c);
    uint8_t *prot = calloc(PFNS, 1); /* 0 = not mapped */
    uint8_t *seen = calloc(PFNS, 1);
    uint64_t last_unmap[256];
    bool have_unmap[256] = {false};
    assert_non_null(prot);
    assert_non_null(seen);
    size_t live = 0;
    for (size_t i = 0; i < t->n; i++) {
        const iosim_rec_t *r = &t->r[i];
        assert_int_equal(r->domain, p->domain);
        assert_int_equal(r->device, p->device);
        if (r->kind == IOSIM_REC_MAP || r->kind == IOSIM_REC_UNMAP ||
            r->kind == IOSIM_REC_MARK)
            assert_true(r->cpu < p->cpus);
        if (r->kind == IOSIM_REC_MAP || r->kind == IOSIM_REC_UNMAP ||
            r->kind == IOSIM_REC_DMA) {
            assert_true(r->iova < 0x100000000ULL); /* below 4 GiB */
            assert_true(r->iova >= 4096);          /* never page 0 */
        }
        uint64_t pfn = r->iova >> 12;
        switch (r->kind) {
        case IOSIM_REC_MAP:
            assert_int_equal(r->iova % 4096, 0);
            assert_int_equal(r->size, 4096);
            assert_int_equal(prot[pfn], 0); /* not mapped twice */
            assert_true(r->flags == IOSIM_PROT_READ ||
                        r->flags == IOSIM_PROT_WRITE);
            prot[pfn] = r->flags;
            if (!seen[pfn]) {
                seen[pfn] = 1;
                c.distinct_iovas++;
            }
            if (++live > c.peak_live)
                c.peak_live = live;
            if (r->flags == IOSIM_PROT_READ && p->direction == GEN_NIC_RX) {
                /* an ACK buffer: rcache LIFO gives it the IOVA this cpu
                 * freed last */
                c.ack_maps++;
                if (have_unmap[r->cpu] && last_unmap[r->cpu] == r->iova)
                    c.ack_maps_lifo++;
            }
            break;
        case IOSIM_REC_UNMAP:
            assert_int_equal(r->size, 4096);
            assert_int_not_equal(prot[pfn], 0);
            prot[pfn] = 0;
            live--;
            last_unmap[r->cpu] = r->iova;
            have_unmap[r->cpu] = true;
            break;
        case IOSIM_REC_DMA:
            /* inside one live page, with the right permission */
            assert_true(r->size >= 1 && (r->iova & 4095) + r->size <= 4096);
            if (r->flags == IOSIM_DMA_WRITE) {
                assert_int_equal(prot[pfn], IOSIM_PROT_WRITE);
                c.dma_write++;
            } else {
                assert_int_equal(prot[pfn], IOSIM_PROT_READ);
                c.dma_read++;
            }
            break;
        default:
            break;
        }
    }
    assert_int_equal(live, 0);
    free(prot);
    free(seen);
    return c;
}

static void test_nic_rx(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 3;
    p.cpus = 2;
    p.ring = 100; /* 100 pages -> 2 descriptors of 64 */
    p.packets = 5000;
    trace_t t = nic_trace(&p, "nic.zst");
    assert_string_equal(t.meta.source, "gen-nic");
    assert_string_equal(t.meta.policy, "");
    assert_int_equal(t.meta.has_dma, 1);
    assert_int_equal(t.meta.cpus, 2);
    assert_int_equal(t.requests, 5000);
    assert_int_equal(t.per_kind[IOSIM_REC_MAP], t.per_kind[IOSIM_REC_UNMAP]);
    /* the first IOVA is the top page below 4 GiB */
    size_t first_map = 0;
    while (t.r[first_map].kind != IOSIM_REC_MAP)
        first_map++;
    assert_int_equal(t.r[first_map].iova, 0xfffff000ULL);

    nic_check_t c = replay_nic(&t, &p);
    /* round-robin: flow f gets 5000/3 packets (+1 for f < 5000 % 3);
     * one ACK per 2 of them */
    size_t acks = 0;
    for (unsigned f = 0; f < 3; f++)
        acks += (5000 / 3 + (f < 5000 % 3)) / 2;
    assert_int_equal(c.dma_write, 5000); /* one 4 KB page per packet */
    assert_int_equal(c.dma_read, acks);
    /* ring full: 3 flows x 2 descriptors x 64 pages, + at most 1 ACK */
    size_t ring_pages = 3 * 2 * 64;
    assert_in_range(c.peak_live, ring_pages, ring_pages + 1);
    assert_int_equal(gen_nic_live_bound(&p), ring_pages + 1);
    /* per-CPU reuse keeps the IOVA working set at the live set (+1 per
     * cpu for the ACK) instead of growing with the packet count */
    assert_true(c.distinct_iovas <= ring_pages + 2);
    assert_int_equal(c.ack_maps, acks);
    assert_int_equal(c.ack_maps_lifo, acks);
    free(t.r);
}

/* 9000-byte MTU: 3 pages per packet, 21 per 64-page descriptor and one
 * page returned unused; rx and tx; a poll every 8 packets. */
static void test_nic_both_jumbo(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 4;
    p.cpus = 4;
    p.ring = 64;
    p.mtu = 9000;
    p.napi_batch = 8;
    p.direction = GEN_NIC_RX | GEN_NIC_TX;
    p.packets = 4000; /* 2000 rx + 2000 tx, 500 of each per flow */
    p.ack_every = 2;
    trace_t t = nic_trace(&p, "jumbo.zst");
    assert_int_equal(t.requests, 4000);
    assert_int_equal(t.per_kind[IOSIM_REC_MAP], t.per_kind[IOSIM_REC_UNMAP]);
    nic_check_t c = replay_nic(&t, &p);
    /* rx: 2000 data packets x 3 pages + 1000 ACKs received (1 page);
     * tx: 2000 x 3 pages + 1000 ACKs sent */
    assert_int_equal(c.dma_write, 2000 * 3 + 1000);
    assert_int_equal(c.dma_read, 2000 * 3 + 1000);
    /* ring: ceil(64 * 3 / 64) = 3 descriptors per flow, + one tx packet */
    assert_true(c.peak_live <= 4 * 3 * 64 + 3);
    size_t last_bytes = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.r[i].kind == IOSIM_REC_DMA && t.r[i].size != 4096 &&
            t.r[i].size != 64)
            last_bytes = t.r[i].size;
    assert_int_equal(last_bytes, 9000 - 2 * 4096);
    free(t.r);
}

/* --stride 64 --rx-header 14 (mlx5 striding RQ): a 4110-byte frame takes
 * 65 strides = 4160 B, 63 frames per 256 KB descriptor; frame k of a
 * descriptor starts at byte 4160 k = page k + 64 k, so it is written as
 * 4096 - 64 k bytes at offset 64 k of one page and 14 + 64 k bytes at the
 * start of the next one. */
static void test_nic_stride(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 2;
    p.cpus = 2;
    p.ring = 126; /* 2 descriptors of 63 frames */
    p.rx_header = 14;
    p.stride = 64;
    p.napi_batch = 63;
    p.ack_every = 0;
    p.packets = 756; /* 378 per flow = 6 descriptors */
    trace_t t = nic_trace(&p, "stride.zst");
    assert_int_equal(t.requests, 756);
    assert_int_equal(t.per_kind[IOSIM_REC_MAP], t.per_kind[IOSIM_REC_UNMAP]);
    nic_check_t c = replay_nic(&t, &p);
    assert_int_equal(c.dma_write, 2 * 756);
    assert_int_equal(c.dma_read, 0);
    /* 2 flows x 2 descriptors x 64 pages (+1 for an ACK or tx page) */
    assert_int_equal(gen_nic_live_bound(&p), 2 * 2 * 64 + 1);
    assert_true(c.peak_live <= 2 * 2 * 64);
    long pkt = -1;
    unsigned frag = 0;
    uint64_t first = 0;
    for (size_t i = 0; i < t.n; i++) {
        const iosim_rec_t *r = &t.r[i];
        if (r->kind == IOSIM_REC_MARK && r->flags == IOSIM_MARK_REQUEST) {
            if (pkt >= 0)
                assert_int_equal(frag, 2);
            pkt++;
            frag = 0;
        } else if (r->kind == IOSIM_REC_DMA) {
            uint64_t k = (uint64_t)(pkt / 2) % 63; /* frame in descriptor */
            if (frag == 0) {
                assert_int_equal(r->iova & 4095, 64 * k);
                assert_int_equal(r->size, 4096 - 64 * k);
                first = r->iova;
            } else {
                assert_int_equal(r->iova & 4095, 0);
                assert_int_equal(r->size, 14 + 64 * k);
                assert_int_not_equal(r->iova >> 12, first >> 12);
            }
            frag++;
        }
    }
    assert_int_equal(pkt, 755);
    free(t.r);
}

/* --rq-sizing mlx5 (gen_nic_layout.c mlx5_rq_wqes).  The room mlx5 budgets per
 * packet is order_base_2(align64(64 + MTU + 22) + 320):
 *   MTU 4096: 4182 -> 4224, + 320 = 4544 -> 2^13; 64-page WQE = 2^18 B,
 *     so 2^5 = 32 packets per WQE; ring 256 = 2^8 -> 2^3 = 8 WQEs;
 *     ring 2048 -> 2^6 = 64; ring 16 -> 2^(4 - 5) is below the minimum
 *     2^2 = 4 WQEs.
 *   MTU 1500: 1586 -> 1600, + 320 = 1920 -> 2^11: 128 per WQE; ring
 *     1024 -> 2^3 = 8 WQEs; a 1000-packet ring rounds up to 1024: 8.
 * Without it (the default) the 256-packet ring with a 14 B header in
 * 64 B strides holds 4160 B per packet, 63 per descriptor: 5 of them.
 * One flow, no rx cache: live bound = WQEs x 64 pages + 1 (one ACK or tx
 * page), and the ring fill maps exactly WQEs x 64 pages before BEGIN. */
static void test_nic_rq_sizing_mlx5(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 1;
    p.cpus = 1;
    p.rx_header = 14;
    p.stride = 64;
    p.ack_every = 0;
    p.packets = 64;
    assert_int_equal(gen_nic_live_bound(&p), 5 * 64 + 1);
    p.rq_sizing_mlx5 = true;
    assert_int_equal(gen_nic_live_bound(&p), 8 * 64 + 1);
    p.ring = 2048;
    assert_int_equal(gen_nic_live_bound(&p), 64 * 64 + 1);
    p.ring = 16;
    assert_int_equal(gen_nic_live_bound(&p), 4 * 64 + 1);
    p.mtu = 1500;
    p.ring = 1024;
    assert_int_equal(gen_nic_live_bound(&p), 8 * 64 + 1);
    p.ring = 1000;
    assert_int_equal(gen_nic_live_bound(&p), 8 * 64 + 1);
    p.mtu = 4096;
    p.ring = 256;
    trace_t t = nic_trace(&p, "rqsize.zst");
    size_t fill = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.r[i].kind == IOSIM_REC_MARK && t.r[i].flags == IOSIM_MARK_BEGIN)
            break;
        fill += t.r[i].kind == IOSIM_REC_MAP;
    }
    assert_int_equal(fill, 8 * 64);
    free(t.r);
}

/* --channels (gen_nic_rings.c nic_channels_open).  1 flow on 1 cpu, ring 8
 * pages
 * (--rq-sizing packets: 8 one-page packets, 4 pages per descriptor = 2
 * descriptors), no ACKs, no device rings.  With --channels 3 the ring
 * fill hands out 3 x 8 = 24 pages top-down from 0xFFFFF000 in a seeded
 * random order of channels: before BEGIN there are 24 MAPs covering
 * exactly pages 0xFFFFF000 - k x 4096, k < 24, the queue's 8 among them
 * (in general not the top 8); the 16 idle pages are never written and
 * are unmapped at teardown.  Live bound 8 + 16 + 1.  --channels 1 (= the
 * queues) and 0 leave the fill as it was: the top 8 pages, in order.
 * Fewer channels than queues is an error. */
static void test_nic_channels(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 1;
    p.cpus = 1;
    p.ring = 8;
    p.ppd = 4;
    p.ack_every = 0;
    p.packets = 40;
    p.channels = 3;
    assert_int_equal(gen_nic_live_bound(&p), 8 + 16 + 1);
    iosim_err_t err;
    for (unsigned run = 0; run < 2; run++) {
        if (run)
            p.channels = 1;
        trace_t t = nic_trace(&p, "chan.zst");
        uint64_t pages = run ? 8 : 24, seen = 0, queue_top8 = 0;
        bool begun = false;
        uint8_t written[24] = {0};
        for (size_t i = 0; i < t.n; i++) {
            const iosim_rec_t *r = &t.r[i];
            uint64_t k = (0xFFFFF000ULL - r->iova) / 4096;
            if (r->kind == IOSIM_REC_MARK && r->flags == IOSIM_MARK_BEGIN)
                begun = true;
            if (r->kind == IOSIM_REC_MAP && !begun) {
                assert_true(r->iova <= 0xFFFFF000ULL && k < pages);
                seen |= 1ULL << k;
            }
            if (r->kind == IOSIM_REC_DMA) {
                assert_true(k < pages);
                written[k] = 1;
            }
        }
        assert_int_equal(seen, (1ULL << pages) - 1);
        for (unsigned k = 0; k < 8; k++)
            queue_top8 += written[k];
        unsigned nwritten = 0;
        for (unsigned k = 0; k < 24; k++)
            nwritten += written[k];
        assert_int_equal(nwritten, 8); /* only the queue's pages */
        if (run)
            assert_int_equal(queue_top8, 8);
        else
            assert_true(queue_top8 < 8); /* interleaved (seed 1) */
        assert_int_equal(t.per_kind[IOSIM_REC_MAP],
                         t.per_kind[IOSIM_REC_UNMAP]);
        free(t.r);
    }
    p.flows = 2;
    p.cpus = 2;
    p.channels = 1;
    assert_int_not_equal(gen_nic_write(&p, wpath("chan.zst"), false, &err), 0);
    assert_non_null(strstr(err.msg, "--channels"));
}

/* The IOVAs come from Linux's allocator (sim/os/iova.c), worked out by
 * hand from drivers/iommu/iova.c __alloc_and_insert_iova_range: a range
 * of n < 32 pages is rounded up to a power of two and aligned to it, and
 * the search goes down from the last allocation.  --device-rings, 1 flow,
 * ring 256 (CQ: 256 x 64 B = 4 pages), 64-page descriptors of one-page
 * packets (4 descriptors, RQ: 4 x 64 B = 1 page):
 *   RQ (1 page)  pfn 0xFFFFF
 *   CQ (4 pages) the highest 4-aligned slot below it: 0xFFFF8-0xFFFFB
 *   SQ, tx CQ    0xFFFF7, 0xFFFF6;  the first rx page 0xFFFF5.
 * And the MSI window 0xFEE00000-0xFEEFFFFF is never handed out: 5 rings
 * of 2048 one-page packets keep over 10,000 pages live, more than the
 * 4,352 pages above it. */
static void test_nic_linux_iovas(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 1;
    p.cpus = 1;
    p.packets = 100;
    p.device_rings = true;
    trace_t t = nic_trace(&p, "iovas.zst");
    const uint64_t want[] = {0xFFFFF, 0xFFFF8, 0xFFFF9, 0xFFFFA,
                             0xFFFFB, 0xFFFF7, 0xFFFF6, 0xFFFF5};
    size_t k = 0;
    for (size_t i = 0; i < t.n && k < 8; i++)
        if (t.r[i].kind == IOSIM_REC_MAP)
            assert_int_equal(t.r[i].iova >> 12, want[k++]);
    assert_int_equal(k, 8);
    free(t.r);

    gen_nic_defaults(&p);
    p.ring = 2048;
    p.packets = 2000;
    t = nic_trace(&p, "msi.zst");
    uint64_t lowest = UINT64_MAX;
    for (size_t i = 0; i < t.n; i++)
        if (t.r[i].kind == IOSIM_REC_MAP) {
            assert_false(t.r[i].iova >= 0xFEE00000ULL &&
                         t.r[i].iova <= 0xFEEFFFFFULL);
            if (t.r[i].iova < lowest)
                lowest = t.r[i].iova;
        }
    assert_true(lowest < 0xFEE00000ULL); /* the window was reached */
    free(t.r);
}

static size_t nic_acks(gen_nic_params_t *p, const char *name)
{
    trace_t t = nic_trace(p, name);
    nic_check_t c = replay_nic(&t, p);
    assert_int_equal(c.dma_read, c.ack_maps); /* one read per ACK */
    if (p->queue_per_cpu) /* one ring per cpu, not per flow */
        assert_true(c.peak_live <= p->cpus * 64 + 1);
    free(t.r);
    return c.ack_maps;
}

/* --queue-per-cpu and --gro-segments: 4 flows on 2 cpus, 800 packets in
 * round-robin order (200 per flow).  ACKs by hand:
 *  - own queue per flow, a poll every 8 packets of the flow, GRO 16: one
 *    8-segment skb per poll -> 1 ACK per 8 packets = 25 per flow;
 *  - same with GRO 3: skbs of 3, 3, 2 -> 3 ACKs per 8 packets = 75;
 *  - flows 0,2 (and 1,3) share a queue, a poll every 8 packets of the
 *    queue = 4 per flow: one 4-segment skb -> 1 ACK per 4 = 50 per flow;
 *  - shared queue, a poll every 2 packets = 1 per flow: 1-segment skbs,
 *    delayed ACK every second one -> 100 per flow;
 *  - without GRO, --ack-every 2 -> 100 per flow whatever the queues. */
static void test_nic_queue_gro(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 4;
    p.cpus = 2;
    p.ring = 64;
    p.packets = 800;
    p.napi_batch = 8;
    p.gro_segs = 16;
    assert_int_equal(nic_acks(&p, "g1.zst"), 4 * 25);
    p.gro_segs = 3;
    assert_int_equal(nic_acks(&p, "g2.zst"), 4 * 75);
    p.gro_segs = 16;
    p.queue_per_cpu = true;
    assert_int_equal(gen_nic_live_bound(&p), 2 * 64 + 1);
    assert_int_equal(nic_acks(&p, "g3.zst"), 4 * 50);
    p.napi_batch = 2;
    assert_int_equal(nic_acks(&p, "g4.zst"), 4 * 100);
    p.gro_segs = 0;
    p.ack_every = 2;
    assert_int_equal(nic_acks(&p, "g5.zst"), 4 * 100);
}

/* The data packet (MARK request id) in whose slot cpu's first ACK is
 * mapped: ACK buffers are the only read-only MAPs without device rings,
 * and an ACK rides in the slot of the packet that triggered its poll. */
static int64_t first_ack_after(const trace_t *t, unsigned cpu)
{
    int64_t last_req = -1;
    for (size_t i = 0; i < t->n; i++) {
        const iosim_rec_t *r = &t->r[i];
        if (r->kind == IOSIM_REC_MARK && r->flags == IOSIM_MARK_REQUEST)
            last_req = (int64_t)r->aux;
        if (r->kind == IOSIM_REC_MAP && r->flags == IOSIM_PROT_READ &&
            r->cpu == cpu)
            return last_req;
    }
    return -2;
}

/* --stagger-polls: with 4 queues (one flow each), a poll every 8 packets
 * and data packet n from flow n % 4, queue q polls first at its
 * (8 - q*8/4)-th packet, i.e. global packet (8 - 2q - 1) * 4 + q;
 * without it every queue polls first at its 8th: packet 7 * 4 + q.  GRO
 * makes one skb of >= 2 segments per flow and poll, so each first poll
 * sends an ACK. */
static void test_nic_stagger_polls(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 4;
    p.cpus = 4;
    p.ring = 64;
    p.packets = 200;
    p.napi_batch = 8;
    p.gro_segs = 16;
    p.queue_per_cpu = true;
    for (int stagger = 0; stagger < 2; stagger++) {
        p.stagger_polls = stagger;
        trace_t t = nic_trace(&p, "stagger.zst");
        for (unsigned q = 0; q < 4; q++) {
            int64_t want =
                stagger ? (int64_t)(8 - 2 * q - 1) * 4 + q : (int64_t)7 * 4 + q;
            assert_int_equal(first_ack_after(&t, q), want);
        }
        replay_nic(&t, &p);
        free(t.r);
    }
}

/* --stagger-wqes: with 4 queues (one flow each) queue q skips q * per / 4
 * packets of its first descriptor, per = packets a descriptor holds.
 * The oracle is positional: the initial fill maps a queue's pages in
 * ring order, so the first rx write of queue q must land in the page
 * mapped k-th on cpu q, at byte offset o, where (k, o) follow from the
 * skipped bytes by hand:
 *  - page mode, 8 pages per descriptor, 4096 B packets: per = 8, skip
 *    0, 2, 4, 6 packets = pages -> (k, o) = (2q, 0);
 *  - striding RQ, 64 B strides, 4096 + 14 B frames take 65 strides =
 *    4160 B, 8 pages = 32768 B hold per = 7: skip 0, 1, 3, 5 packets =
 *    0, 4160, 12480, 20800 B -> (0, 0), (1, 64), (3, 192), (5, 320).
 * Without the flag every queue starts at (0, 0). */
static void test_nic_stagger_wqes(void **state)
{
    (void)state;
    static const uint64_t want_k[2][4] = {{0, 2, 4, 6}, {0, 1, 3, 5}};
    static const uint64_t want_o[2][4] = {{0, 0, 0, 0}, {0, 64, 192, 320}};
    for (int mode = 0; mode < 2; mode++)
        for (int stagger = 0; stagger < 2; stagger++) {
            gen_nic_params_t p;
            gen_nic_defaults(&p);
            p.flows = 4;
            p.cpus = 4;
            p.ppd = 8;
            p.ring = 16;
            p.packets = 64;
            p.queue_per_cpu = true;
            p.stagger_wqes = stagger;
            if (mode) {
                p.stride = 64;
                p.rx_header = 14;
            }
            trace_t t = nic_trace(&p, "swqe.zst");
            for (unsigned q = 0; q < 4; q++) {
                uint64_t maps[64];
                size_t nmap = 0;
                bool begun = false, seen = false;
                for (size_t i = 0; i < t.n && !seen; i++) {
                    const iosim_rec_t *r = &t.r[i];
                    if (r->kind == IOSIM_REC_MARK &&
                        r->flags == IOSIM_MARK_BEGIN)
                        begun = true;
                    if (!begun && r->kind == IOSIM_REC_MAP && r->cpu == q &&
                        nmap < 64)
                        maps[nmap++] = r->iova;
                    if (begun && r->kind == IOSIM_REC_DMA && r->cpu == q) {
                        uint64_t k = stagger ? want_k[mode][q] : 0;
                        uint64_t o = stagger ? want_o[mode][q] : 0;
                        assert_true(k < nmap);
                        assert_int_equal(r->iova, maps[k] + o);
                        seen = true;
                    }
                }
                assert_true(seen);
            }
            replay_nic(&t, &p);
            free(t.r);
        }
}

/* --burst 3: the flow of data packet n is (n / 3) % flows, and its
 * MARK carries that flow's cpu. */
static void test_nic_burst(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.flows = 4;
    p.cpus = 4;
    p.burst = 3;
    p.packets = 100;
    iosim_err_t err;
    trace_t t = nic_trace(&p, "burst.zst");
    size_t n = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.r[i].kind == IOSIM_REC_MARK &&
            t.r[i].flags == IOSIM_MARK_REQUEST) {
            assert_int_equal(t.r[i].aux, n);
            assert_int_equal(t.r[i].cpu, (n / 3) % 4);
            n++;
        }
    assert_int_equal(n, 100);
    replay_nic(&t, &p);
    free(t.r);
    /* bad values */
    p.burst = 0;
    assert_int_equal(gen_nic_write(&p, wpath("x.zst"), false, &err), -1);
    p.burst = 1;
    p.stride = 64;
    p.ppd = 1; /* 4096 B cannot hold a 4096 B frame in 64 B strides + 14 */
    p.rx_header = 14;
    assert_int_equal(gen_nic_write(&p, wpath("x.zst"), false, &err), -1);
    assert_false(file_exists(wpath("x.zst")));
}

/* --duration: packets = ceil(duration / (mtu * 8 / rate)). */
static void test_nic_duration(void **state)
{
    (void)state;
    gen_nic_params_t p;
    gen_nic_defaults(&p);
    p.packets = 0;
    p.duration_s = 0.001;
    p.mtu = 4096;
    p.rate_gbps = 100; /* 327.68 ns per packet -> ceil(3051.76) */
    iosim_err_t err;
    trace_t t = nic_trace(&p, "dur.zst");
    assert_int_equal(t.requests, 3052);
    free(t.r);

    p.packets = 10; /* both given */
    assert_int_equal(gen_nic_write(&p, wpath("x.zst"), false, &err), -1);
    assert_false(file_exists(wpath("x.zst")));
}

/* ================================================================= */
/* option parsing and registry                                       */
/* ================================================================= */
static void test_parse(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(gen_parse_u64("4K", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(gen_parse_u64("2M", &v), 0);
    assert_int_equal(v, 2u << 20);
    assert_int_equal(gen_parse_u64("1G", &v), 0);
    assert_int_equal(v, 1u << 30);
    assert_int_equal(gen_parse_u64("0x100", &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(gen_parse_u64("1.5K", &v), -1);
    assert_int_equal(gen_parse_u64("-1", &v), -1);
    assert_int_equal(gen_parse_u64("", &v), -1);

    struct opts {
        uint64_t window, count;
        double rate;
        bool flag;
        unsigned choice;
    } o = {0, 0, 0, false, 9};
    static const char *const ch[] = {"read", "write", NULL};
    // clang-format off
    static const gen_param_t rows[] = {
        {"--window", "BYTES", GEN_OPT_U64, offsetof(struct opts, window),
         "4K", 1, 0, NULL, "w", NULL},
        {"--count", "N", GEN_OPT_U64, offsetof(struct opts, count), NULL, 0,
         100, NULL, "c", NULL},
        {"--rate", "R", GEN_OPT_DOUBLE, offsetof(struct opts, rate), "1.5", 0,
         0, NULL, "r", NULL},
        {"--dir", "read|write", GEN_OPT_CHOICE, offsetof(struct opts, choice),
         "write", 0, 0, ch, "d", NULL},
        {"--flag", NULL, GEN_OPT_FLAG, offsetof(struct opts, flag), NULL, 0, 0,
         NULL, "f", NULL},
        {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
    };
    // clang-format on
    const gen_kind_t k = {.name = "k", .params = rows, .size = sizeof o};
    iosim_err_t err;
    /* the table's defaults, through the parser */
    assert_int_equal(gen_kind_defaults(&k, &o, &err), 0);
    assert_int_equal(o.window, 4096);
    assert_int_equal(o.count, 0);
    assert_true(o.rate == 1.5);
    assert_int_equal(o.choice, 1);
    assert_false(o.flag);

    bool given[5] = {false};
    char *ok[] = {"k",   "--window=64K", "--count", "7",     "--rate",
                  "2.5", "--dir",        "read",    "--flag"};
    assert_int_equal(gen_kind_parse(&k, &o, given, 9, ok, &err), 0);
    assert_int_equal(o.window, 65536);
    assert_true(given[0] && given[1] && given[2] && given[3] && given[4]);
    assert_int_equal(o.count, 7);
    assert_true(o.rate == 2.5);
    assert_int_equal(o.choice, 0);
    assert_true(o.flag);

    char *bad1[] = {"k", "--nope", "1"};
    assert_int_equal(gen_kind_parse(&k, &o, NULL, 3, bad1, &err), -1);
    assert_string_equal(err.msg, "gen k: unknown option '--nope'");
    char *bad2[] = {"k", "--count"};
    assert_int_equal(gen_kind_parse(&k, &o, NULL, 2, bad2, &err), -1);
    assert_string_equal(err.msg, "gen k: --count needs a value");
    char *bad3[] = {"k", "--count", "101"};
    assert_int_equal(gen_kind_parse(&k, &o, NULL, 3, bad3, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    char *bad4[] = {"k", "--dir", "sideways"};
    assert_int_equal(gen_kind_parse(&k, &o, NULL, 3, bad4, &err), -1);
    assert_non_null(strstr(err.msg, "read|write"));
    char *bad5[] = {"k", "--window", "0"};
    assert_int_equal(gen_kind_parse(&k, &o, NULL, 3, bad5, &err), -1);
    /* a default the parser refuses is an error naming the row */
    static const gen_param_t bad_rows[] = {
        {"--count", "N", GEN_OPT_U64, 0, "lots", 0, 0, NULL, "c", NULL},
        {NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
    };
    const gen_kind_t kb = {.name = "k", .params = bad_rows, .size = 8};
    uint64_t v8;
    assert_int_equal(gen_kind_defaults(&kb, &v8, &err), -1);
    assert_non_null(strstr(err.msg, "--count"));
}

/* Every registered kind: its table's defaults parse (the typed
 * gen_*_defaults() use them), each documented row has help, and the
 * defaults are the values the generators' documentation gives (an
 * independent list here, so a changed table row shows). */
static void test_registry(void **state)
{
    (void)state;
    size_t n = 0;
    for (const gen_kind_t *const *k = gen_kinds; *k; k++, n++) {
        assert_non_null((*k)->name);
        assert_non_null((*k)->summary);
        assert_non_null((*k)->write);
        assert_ptr_equal(gen_kind_find((*k)->name), *k);
        void *o = calloc(1, (*k)->size);
        iosim_err_t err;
        assert_int_equal(gen_kind_defaults(*k, o, &err), 0);
        free(o);
        for (const gen_param_t *p = (*k)->params; p->name; p++)
            assert_true(p->help || !p->metavar); /* aliases: no help */
    }
    assert_int_equal(n, 3);
    assert_null(gen_kind_find("nope"));
    gen_random_params_t r;
    gen_random_defaults(&r);
    assert_int_equal(r.window, 64ULL << 20);
    assert_int_equal(r.size, 64);
    assert_int_equal(r.count, 1000000);
    assert_int_equal(r.page_size, 4096);
    assert_int_equal(r.iova_base, 1ULL << 32);
    assert_int_equal(r.device, 0x0100);
    assert_false(r.write);
    assert_true(r.marks);
    assert_true(r.rate_gbps == 100);
    gen_nic_params_t nic;
    gen_nic_defaults(&nic);
    assert_int_equal(nic.flows, 5);
    assert_int_equal(nic.cpus, 5);
    assert_int_equal(nic.ring, 256);
    assert_int_equal(nic.ppd, 64);
    assert_int_equal(nic.ack_every, 2);
    assert_int_equal(nic.direction, GEN_NIC_RX);
    assert_int_equal(nic.stride, 0);
    assert_int_equal(nic.burst, 1);
    assert_false(nic.rq_sizing_mlx5);
    gen_pvp_params_t pvp;
    gen_pvp_defaults(&pvp);
    assert_int_equal(pvp.page_size, 2ULL << 20);
    /* 64 + 128 + 128 + 2048 (gen_pvp.c: the DPDK object layout) */
    assert_int_equal(pvp.obj_size, 64 + 128 + 128 + 2048);
    assert_int_equal(pvp.device, 0x0010);
    assert_true(pvp.rate_mpps == 14.88);
    /* the run parses argv like the command does */
    iosim_err_t err;
    char *argv[] = {"random", "--window", "64K",  "--count",
                    "10",     "--dir",    "write"};
    const char *path = wpath("run.zst");
    assert_int_equal(gen_kind_run(&gen_kind_random, 7, argv, path, false, &err),
                     0);
    trace_t t = load(path);
    assert_int_equal(t.per_kind[IOSIM_REC_DMA], 10);
    assert_int_equal(t.per_kind[IOSIM_REC_MAP], 16);
    free(t.r);
    /* the kind's validate hook: gen nic's --packets and --duration */
    char *both[] = {"nic", "--packets", "10", "--duration", "1"};
    assert_int_equal(
        gen_kind_run(&gen_kind_nic, 5, both, wpath("x.zst"), false, &err), -2);
    assert_string_equal(err.msg,
                        "gen nic: give only one of --packets and --duration");
    /* an option the table does not have, a value out of a range without
     * an upper limit: usage errors too (-2), no output */
    char *unknown[] = {"pvp", "--no-such-option"};
    assert_int_equal(
        gen_kind_run(&gen_kind_pvp, 2, unknown, wpath("x.zst"), false, &err),
        -2);
    assert_string_equal(err.msg, "gen pvp: unknown option '--no-such-option'");
    char *ring0[] = {"pvp", "--ring-size", "0"};
    assert_int_equal(
        gen_kind_run(&gen_kind_pvp, 3, ring0, wpath("x.zst"), false, &err), -2);
    assert_string_equal(err.msg, "gen pvp: --ring-size: 0 is less than 1");
    assert_int_equal(access(wpath("x.zst"), F_OK), -1);
    /* a run that fails writing (no such directory): -1, not a usage error */
    assert_int_equal(gen_kind_run(&gen_kind_random, 7, argv,
                                  wpath("no/such/dir.zst"), false, &err),
                     -1);
    assert_non_null(strstr(err.msg, "no/such/dir.zst"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_basic),
        cmocka_unit_test(test_random_deterministic),
        cmocka_unit_test(test_random_uniform),
        cmocka_unit_test(test_random_bad),
        cmocka_unit_test(test_nic_rx),
        cmocka_unit_test(test_nic_both_jumbo),
        cmocka_unit_test(test_nic_duration),
        cmocka_unit_test(test_nic_stride),
        cmocka_unit_test(test_nic_rq_sizing_mlx5),
        cmocka_unit_test(test_nic_channels),
        cmocka_unit_test(test_nic_linux_iovas),
        cmocka_unit_test(test_nic_queue_gro),
        cmocka_unit_test(test_nic_burst),
        cmocka_unit_test(test_nic_stagger_polls),
        cmocka_unit_test(test_nic_stagger_wqes),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
