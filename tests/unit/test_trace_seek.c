/* test_trace_seek.c — iosim_trace_seek(), blocks decoded on threads
 * (iosim_trace_set_decode_threads) and records kept for a second read
 * (iosim_trace_keep, iosim_trace_reopen) against the plain sequential
 * read.
 *
 * Concepts: the records expected at a place are the records this file
 * generated and wrote there (an array, independent of the reader), and the
 * records of a threaded read are those of a sequential read of the same
 * file; errors are compared message for message with the sequential read.
 * Assumptions: /tmp is writable (a mkdtemp directory, removed at the end);
 * writers put TRACE_V2_BLOCK_RECS records in a block (FORMAT.md §8.2).
 * Not covered here: the iosim-trace options (tests/cli/trace_seek.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iosim.h"
#include "trace/trace_internal.h"

#include "test_util.h"

/* four blocks, the last short */
#define NREC (3 * TRACE_V2_BLOCK_RECS + 4321)

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) /* xorshift64 */
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Records of every kind, with now and then every rare field changed. */
static iosim_rec_t *make_recs(size_t n)
{
    iosim_rec_t *r = calloc(n, sizeof *r);
    assert_non_null(r);
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        t += rnd() % 1000;
        r[i].t = t;
        r[i].kind = (uint8_t)(rnd() % 3 ? IOSIM_REC_DMA : 1 + rnd() % 5);
        r[i].iova = 0x10000000 + (rnd() % 65536) * 64;
        r[i].size = rnd() % 4 ? 64 : rnd() % 70000;
        r[i].device = 0x100;
        r[i].domain = 1;
        if (rnd() % 16 == 0) {
            r[i].aux = rnd();
            r[i].pasid = (uint32_t)rnd();
            r[i].cpu = (uint8_t)rnd();
            r[i].flags = (uint8_t)rnd();
            r[i].desc = (uint8_t)rnd();
        }
    }
    return r;
}

static const char *write_trace(const iosim_rec_t *r, size_t n)
{
    const char *p = wpath("seek.zst");
    iosim_trace_meta_t m = {0};
    snprintf(m.source, sizeof m.source, "test");
    snprintf(m.time_unit, sizeof m.time_unit, "ns");
    iosim_err_t err;
    iosim_trace_writer_t *w = iosim_trace_create(p, &m, false, &err);
    assert_non_null(w);
    assert_int_equal(iosim_trace_write(w, r, n, &err), 0);
    assert_int_equal(iosim_trace_commit(w, &err), 0);
    return p;
}

/* Reads to the end in batches of `batch`; the records (*n of them) and
 * the error message ("" at a clean end). */
/* ref: through iosim_trace_read_ref, every other call (1) or every call
 * (2); the records a call pointed at must still be there when the next
 * call is made, also after a pause for the decoders to run ahead where
 * the call ended a block (fewer records than asked for: its slot is
 * freed only by the next call). */
static iosim_rec_t *read_all_ref(iosim_trace_reader_t *rd, size_t batch,
                                 size_t *n, char *msg, size_t msglen, int ref)
{
    iosim_rec_t *all = malloc((2 * NREC + batch) * sizeof *all);
    iosim_rec_t *buf = malloc(batch * sizeof *buf);
    assert_non_null(all);
    assert_non_null(buf);
    *n = 0;
    long k;
    iosim_err_t err;
    const iosim_rec_t *view = NULL;
    size_t view_n = 0, view_at = 0;
    for (unsigned call = 0;; call++) {
        if (view) {
            if (view_n < batch)
                usleep(20000);
            assert_memory_equal(view, all + view_at, view_n * sizeof *view);
            view = NULL;
        }
        if (ref == 2 || (ref == 1 && call % 2)) {
            k = iosim_trace_read_ref(rd, buf, batch, &view, &err);
            if (k <= 0)
                break;
            memcpy(all + *n, view, (size_t)k * sizeof *view);
            view_n = (size_t)k, view_at = *n;
        } else if ((k = iosim_trace_read(rd, all + *n, batch, &err)) <= 0) {
            break;
        }
        *n += (size_t)k;
    }
    snprintf(msg, msglen, "%s", k < 0 ? err.msg : "");
    free(buf);
    return all;
}

static iosim_rec_t *read_all(iosim_trace_reader_t *rd, size_t batch, size_t *n,
                             char *msg, size_t msglen)
{
    return read_all_ref(rd, batch, n, msg, msglen, 0);
}

/* Reads rd to the end (read_all_ref's mode ref): n records equal to
 * want's, then the message msg ("" at a clean end). */
static void read_expect(iosim_trace_reader_t *rd, size_t batch, int ref,
                        const iosim_rec_t *want, size_t n, const char *msg)
{
    size_t got;
    char m[sizeof(iosim_err_t)];
    iosim_rec_t *all = read_all_ref(rd, batch, &got, m, sizeof m, ref);
    assert_string_equal(m, msg);
    assert_int_equal(got, n);
    assert_memory_equal(all, want, n * sizeof *want);
    free(all);
}

static void test_seek_many(void **s)
{
    (void)s;
    iosim_rec_t *in = make_recs(NREC);
    const char *p = write_trace(in, NREC);
    iosim_err_t err;
    iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    iosim_rec_t out[40];
    /* block edges, both ends, and pseudo-random places, in no order */
    uint64_t at[64] = {0,
                       1,
                       TRACE_V2_BLOCK_RECS - 1,
                       TRACE_V2_BLOCK_RECS,
                       TRACE_V2_BLOCK_RECS + 1,
                       2 * TRACE_V2_BLOCK_RECS,
                       3 * TRACE_V2_BLOCK_RECS,
                       NREC - 1,
                       NREC - 40};
    for (size_t i = 9; i < 64; i++)
        at[i] = rnd() % NREC;
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(iosim_trace_seek(rd, at[i], &err), 0);
        size_t want = NREC - at[i] < 40 ? (size_t)(NREC - at[i]) : 40;
        /* reads may stop at a block's end: read until `want` */
        size_t got = 0;
        while (got < want) {
            long k = iosim_trace_read(rd, out + got, want - got, &err);
            assert_true(k > 0);
            got += (size_t)k;
        }
        assert_memory_equal(out, in + at[i], want * sizeof *out);
    }
    /* the end: nothing more, and the index check passes */
    assert_int_equal(iosim_trace_seek(rd, NREC, &err), 0);
    assert_int_equal(iosim_trace_read(rd, out, 40, &err), 0);
    /* past the end: one line naming the file and the count */
    assert_int_equal(iosim_trace_seek(rd, NREC + 1, &err), -1);
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "the trace has"));
    assert_null(strchr(err.msg, '\n'));
    /* a seek back to the start, then the whole trace: as written */
    assert_int_equal(iosim_trace_seek(rd, 0, &err), 0);
    size_t n;
    char msg[sizeof(iosim_err_t)];
    iosim_rec_t *all = read_all(rd, 1000, &n, msg, sizeof msg);
    assert_string_equal(msg, "");
    assert_int_equal(n, NREC);
    assert_memory_equal(all, in, NREC * sizeof *in);
    free(all);
    iosim_trace_close(rd);
    free(in);
}

/* Threads give the records of the sequential read, with and without a
 * seek first, in batches that cut blocks anywhere, copied out
 * (iosim_trace_read) or in place (iosim_trace_read_ref), or both in
 * turn. */
static void test_decode_threads(void **s)
{
    (void)s;
    iosim_rec_t *in = make_recs(NREC);
    const char *p = write_trace(in, NREC);
    iosim_err_t err;
    for (unsigned th = 1; th <= 4; th++) {
        for (int seek = 0; seek < 6; seek++) {
            iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
            assert_non_null(rd);
            iosim_trace_set_decode_threads(rd, th);
            uint64_t from = seek % 2 ? TRACE_V2_BLOCK_RECS + 17 : 0;
            if (seek % 2)
                assert_int_equal(iosim_trace_seek(rd, from, &err), 0);
            size_t n;
            char msg[sizeof(iosim_err_t)];
            iosim_rec_t *all =
                read_all_ref(rd, 777 * th, &n, msg, sizeof msg, seek / 2);
            assert_string_equal(msg, "");
            assert_int_equal(n, NREC - from);
            assert_memory_equal(all, in + from, n * sizeof *in);
            free(all);
            iosim_trace_close(rd);
        }
    }
    free(in);
}

/* Records handed out in place stay until the next read also where the
 * decoders come round the ring of slots (more blocks than slots: 4 with
 * one thread, 6 with two). */
static void test_read_ref_ring(void **s)
{
    (void)s;
    const size_t n = 2 * NREC; /* 8 blocks */
    iosim_rec_t *in = make_recs(n);
    const char *p = write_trace(in, n);
    iosim_err_t err;
    for (unsigned th = 1; th <= 2; th++) {
        iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
        assert_non_null(rd);
        iosim_trace_set_decode_threads(rd, th);
        size_t got;
        char msg[sizeof(iosim_err_t)];
        iosim_rec_t *all = read_all_ref(rd, 1000, &got, msg, sizeof msg, 2);
        assert_string_equal(msg, "");
        assert_int_equal(got, n);
        assert_memory_equal(all, in, n * sizeof *in);
        free(all);
        iosim_trace_close(rd);
    }
    free(in);
}

/* A reader of p (decode threads th) that kept its records: read to the
 * end in mode ref as written (in, n records), then reopened. */
static iosim_trace_reader_t *kept_reopen(const char *p, const iosim_rec_t *in,
                                         size_t n, unsigned th, int ref)
{
    iosim_err_t err;
    iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    iosim_trace_set_decode_threads(rd, th);
    assert_true(iosim_trace_keep(rd, n * sizeof(iosim_rec_t)));
    read_expect(rd, 1000 + 333 * th, ref, in, n, "");
    iosim_trace_reader_t *m = iosim_trace_reopen(rd, NULL, &err);
    assert_non_null(m);
    iosim_trace_close(rd);
    return m;
}

/* Whether r reads from memory: the kept records' reader has no index to
 * seek with (a file reader of a v2 trace has). */
static bool from_memory(iosim_trace_reader_t *r)
{
    iosim_err_t err;
    return iosim_trace_seek(r, 5, &err) != 0;
}

/* iosim_trace_keep / iosim_trace_reopen: a reopened reader gives the
 * records as written, however the first reader read them (copied out,
 * in place, decoded on 0-2 threads) and however it is read (the same
 * modes, with a reader of kept records reopened once more); a reader that
 * could not keep them all, or did not reach the end, reopens the file. */
static void test_keep(void **s)
{
    (void)s;
    iosim_rec_t *in = make_recs(NREC);
    const char *p = write_trace(in, NREC);
    iosim_err_t err;
    /* 0-2 decoding threads x the three read modes */
    for (unsigned mode = 0; mode < 9; mode++) {
        const unsigned th = mode / 3;
        const int ref = (int)(mode % 3);
        iosim_trace_reader_t *m = kept_reopen(p, in, NREC, th, ref);
        assert_string_equal(iosim_trace_path(m), p);
        assert_string_equal(iosim_trace_meta(m)->source, "test");
        assert_int_equal(iosim_trace_record_line(m, 3), 0);
        for (int again = 0; again < 2; again++) {
            /* no decoding: threads change nothing */
            iosim_trace_set_decode_threads(m, th);
            read_expect(m, 999, (ref + again) % 3, in, NREC, "");
            uint64_t done, total;
            iosim_trace_progress(m, &done, &total);
            assert_true(total > 0);
            assert_int_equal(done, total);
            /* the records move on to the next reader */
            iosim_trace_reader_t *m2 = iosim_trace_reopen(m, NULL, &err);
            assert_non_null(m2);
            iosim_trace_close(m);
            m = m2;
        }
        /* that one's own (moved) records: a third read from memory;
         * once they moved on, a reopen decodes the file */
        assert_true(from_memory(m));
        iosim_trace_reader_t *m3 = iosim_trace_reopen(m, NULL, &err);
        assert_non_null(m3);
        iosim_trace_reader_t *f = iosim_trace_reopen(m, NULL, &err);
        assert_non_null(f);
        assert_true(from_memory(m3));
        assert_false(from_memory(f));
        iosim_trace_close(f);
        iosim_trace_close(m3);
        iosim_trace_close(m);
    }
    /* refused: one record more than the bound; after a read */
    iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    assert_false(iosim_trace_keep(rd, NREC * sizeof(iosim_rec_t) - 1));
    iosim_rec_t one;
    assert_int_equal(iosim_trace_read(rd, &one, 1, &err), 1);
    assert_false(iosim_trace_keep(rd, 2 * NREC * sizeof(iosim_rec_t)));
    iosim_trace_close(rd);
    /* kept, but read only to the middle: the file again, from its start */
    rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    assert_true(iosim_trace_keep(rd, NREC * sizeof(iosim_rec_t)));
    iosim_rec_t *half = malloc(1000 * sizeof *half);
    assert_non_null(half);
    assert_true(iosim_trace_read(rd, half, 1000, &err) > 0);
    iosim_trace_reader_t *f = iosim_trace_reopen(rd, NULL, &err);
    assert_non_null(f);
    assert_false(from_memory(f));
    iosim_trace_close(f);
    f = iosim_trace_reopen(rd, NULL, &err);
    assert_non_null(f);
    assert_int_equal(iosim_trace_read(f, half, 1000, &err), 1000);
    assert_memory_equal(half, in, 1000 * sizeof *in);
    iosim_trace_close(f);
    iosim_trace_close(rd);
    free(half);
    free(in);
}

/* A damaged copy: with threads, the same records before the error and
 * the same message as without. */
static unsigned damaged_kept; /* damaged copies whose records were kept */
static void damaged_same(const char *p)
{
    iosim_err_t err;
    size_t n0, n1;
    char m0[sizeof(iosim_err_t)], m1[sizeof(iosim_err_t)];
    iosim_trace_reader_t *rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    iosim_rec_t *a = read_all(rd, 1000, &n0, m0, sizeof m0);
    iosim_trace_close(rd);
    rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    iosim_trace_set_decode_threads(rd, 3);
    iosim_rec_t *b = read_all_ref(rd, 1000, &n1, m1, sizeof m1, 1);
    iosim_trace_close(rd);
    assert_string_not_equal(m0, "");
    assert_string_equal(m0, m1);
    assert_int_equal(n0, n1);
    assert_memory_equal(a, b, n0 * sizeof *a);
    free(b);
    /* a reader that kept its records up to the error reopens the file,
     * which fails the same way (where it has an index: a copy cut short
     * has none, and nothing is kept) */
    rd = iosim_trace_open(p, &err);
    assert_non_null(rd);
    bool kept = iosim_trace_keep(rd, 2 * NREC * sizeof(iosim_rec_t));
    read_expect(rd, 1000, 2, a, n0, m0);
    iosim_trace_reader_t *f = iosim_trace_reopen(rd, NULL, &err);
    assert_non_null(f);
    iosim_trace_close(rd);
    read_expect(f, 1000, 0, a, n0, m0);
    iosim_trace_close(f);
    free(a);
    damaged_kept += kept;
}

static void test_errors(void **s)
{
    (void)s;
    iosim_rec_t *in = make_recs(NREC);
    const char *p = write_trace(in, NREC);
    size_t len;
    unsigned char *f = slurp(p, &len);
    const char *q = wpath("bad.zst");
    FILE *o;
    /* a byte of block 2 flipped: its checksum */
    unsigned char *g = malloc(len);
    memcpy(g, f, len);
    g[len / 2] ^= 0x5a;
    o = fopen(q, "wb");
    fwrite(g, 1, len, o);
    fclose(o);
    damaged_same(q);
    /* cut inside block 3, and inside the index */
    size_t cuts[] = {len * 3 / 4, len - 20};
    for (size_t c = 0; c < 2; c++) {
        o = fopen(q, "wb");
        fwrite(f, 1, cuts[c], o);
        fclose(o);
        damaged_same(q);
    }
    /* seek in a cut file: no index */
    iosim_err_t err;
    iosim_trace_reader_t *rd = iosim_trace_open(q, &err);
    assert_non_null(rd);
    assert_int_equal(iosim_trace_seek(rd, 5, &err), -1);
    assert_non_null(strstr(err.msg, "no block index"));
    iosim_trace_close(rd);
    /* an index entry whose record count is off by one (the footer's
     * total then disagrees): bad index, for seek and for the full read */
    uint64_t nb = g[len - 8] | (uint64_t)g[len - 7] << 8;
    size_t e0 = len - (32 + 16 * nb) + 16; /* entry 0 */
    memcpy(g, f, len);
    g[e0 + 12] ^= 1;
    o = fopen(q, "wb");
    fwrite(g, 1, len, o);
    fclose(o);
    rd = iosim_trace_open(q, &err);
    assert_non_null(rd);
    assert_int_equal(iosim_trace_seek(rd, 5, &err), -1);
    assert_non_null(strstr(err.msg, "bad index"));
    assert_null(strchr(err.msg, '\n'));
    iosim_trace_close(rd);
    damaged_same(q);
    /* the v1 form has no index */
    o = fopen(q, "wb");
    fclose(o);
    iosim_trace_meta_t m = {0};
    snprintf(m.time_unit, sizeof m.time_unit, "ns");
    iosim_trace_writer_t *w = trace_create_version(q, &m, 1, &err);
    assert_non_null(w);
    assert_int_equal(iosim_trace_write(w, in, 100, &err), 0);
    assert_int_equal(iosim_trace_commit(w, &err), 0);
    rd = iosim_trace_open(q, &err);
    assert_non_null(rd);
    assert_int_equal(iosim_trace_seek(rd, 5, &err), -1);
    assert_non_null(strstr(err.msg, "format v1"));
    assert_false(iosim_trace_keep(rd, 2 * NREC * sizeof(iosim_rec_t)));
    iosim_trace_close(rd);
    /* the flipped byte's copy had its index: kept, until the error */
    assert_true(damaged_kept >= 1);
    free(g);
    free(f);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seek_many),
        cmocka_unit_test(test_decode_threads),
        cmocka_unit_test(test_read_ref_ring),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, make_work, remove_work);
}
