/* trace_io.c — reading and writing iosim traces (binary forms v1 and v2).
 *
 * Concepts:
 *   - Format v2 (what every writer writes; traces/FORMAT.md §8): a
 *     skippable zstd frame with the header and metadata, then blocks of
 *     up to 65,536 records, each a small skippable frame (record count,
 *     length) and one zstd frame holding the block's columns (trace_v2.c)
 *     with a content checksum, then a skippable index frame listing every
 *     block's offset, length and record count.  The reader goes through
 *     the blocks in order, one ZSTD_decompressDCtx() per block, and
 *     decodes the columns straight into the caller's record array;
 *     at the end it checks the index against the blocks it read.
 *     iosim_trace_seek() reads the index from the end of the file and
 *     decodes only the block holding the record asked for.
 *   - With iosim_trace_set_decode_threads(), threads decompress and decode
 *     the blocks ahead of the reads (each block decodes on its own); the
 *     reader hands their records out in order (copied, or in place through
 *     iosim_trace_read_ref), and goes back to the
 *     one-thread path at the index or at any frame that fails a check, so
 *     records and errors are the same as without threads.
 *   - Format v1 (still read; `iosim-trace convert --format v1` writes it):
 *     one zstd stream holding a 20-byte header, a metadata block and
 *     48-byte little-endian records.  Decoding is streaming: compressed
 *     input is read in ZSTD_DStreamInSize() chunks and decompressed into a
 *     byte buffer from which whole records are converted, as many as fit
 *     in the caller's array.
 *   - Records are encoded and decoded byte by byte (explicit little
 *     endian), never by copying the struct, so the file format does not
 *     depend on the host's byte order or struct padding.
 *   - The reader tells the forms apart by the first four bytes: the zstd
 *     frame magic 0xFD2FB528 (v1), the skippable-frame magic 0x184D2A50
 *     (v2), anything else is parsed as text (trace_text.c).
 *   - Errors found after some records of a batch were decoded are
 *     deferred: the good records are returned first, the next call
 *     returns -1 with the message.
 *   - Writers write "<path>.tmp.<pid>" and rename it at commit.
 * Assumptions:
 *   - Input traces are regular files (the text form is re-read from the
 *     start after the format is sniffed).
 *   - Concatenated zstd frames are accepted as one stream (what `zstd`
 *     and `cat a.zst b.zst` produce); the stream must end on a frame end.
 * Not modeled: nothing (format code only).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/outfile.h"
#include "base/vec.h"
#include "trace/trace_internal.h"

#define TRACE_MAGIC "IOSIMTRC"
#define TRACE_V2_INDEX_MAGIC "IOSIMIDX"
#define TRACE_HEADER_SIZE 20u     /* magic 8 + version, rec size, meta_len */
#define TRACE_META_MAX (1u << 20) /* sanity bound against corrupt headers */
#define TRACE_ZSTD_LEVEL 3        /* FORMAT.md §2: zstd default level */
/* FORMAT.md §8.2: zstd's fast mode, which leaves literals (the IOVA column
 * of random addresses) uncompressed, so a block decodes at memory speed;
 * measured on 21 M random 64 B reads: 3.3 B/record and about 15% less
 * decode time than level 3 (2.4 B/record); v1 takes 5.7 B/record */
#define TRACE_V2_ZSTD_LEVEL (-1)
#define TRACE_DECODE_BUF (256u * 1024) /* decompressed bytes buffered       */
#define TRACE_ENCODE_RECS 4096u        /* records per compress call         */

/* zstd frame magic number, RFC 8878 §3.1.1: 0xFD2FB528 little-endian. */
static const uint8_t zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
/* Skippable frames, RFC 8878 §3.1.2: magic 0x184D2A5?, 4-byte length. */
#define SKIPPABLE_MASK 0xFFFFFFF0u
#define SKIPPABLE_BASE 0x184D2A50u

/* ------------------------------------------------------------------ */
/* Little-endian record codec                                          */
/* ------------------------------------------------------------------ */
static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Written out byte by byte so that they are portable, and shaped so that
 * compilers turn them into single loads on little-endian hosts (GCC and
 * clang recognise the OR-of-shifted-bytes pattern; a loop they do not). */
static inline uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Field offsets: FORMAT.md §4. */
static void rec_encode(const iosim_rec_t *r, uint8_t *p)
{
    put_le(p + 0, r->t, 8);
    put_le(p + 8, r->iova, 8);
    put_le(p + 16, r->size, 8);
    put_le(p + 24, r->aux, 8);
    put_le(p + 32, r->pasid, 4);
    put_le(p + 36, r->device, 2);
    put_le(p + 38, r->domain, 2);
    p[40] = r->kind;
    p[41] = r->cpu;
    p[42] = r->flags;
    p[43] = r->desc;
    p[44] = r->gran;
    p[45] = r->am;
    put_le(p + 46, r->reserved, 2);
}

static inline void rec_decode(const uint8_t *p, iosim_rec_t *r)
{
    r->t = get_le64(p + 0);
    r->iova = get_le64(p + 8);
    r->size = get_le64(p + 16);
    r->aux = get_le64(p + 24);
    r->pasid = get_le32(p + 32);
    r->device = get_le16(p + 36);
    r->domain = get_le16(p + 38);
    r->kind = p[40];
    r->cpu = p[41];
    r->flags = p[42];
    r->desc = p[43];
    r->gran = p[44];
    r->am = p[45];
    r->reserved = get_le16(p + 46);
}

static bool kind_valid(unsigned kind)
{
    return kind >= 1 && kind <= IOSIM_REC_KIND_MAX;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */
enum reader_state { RS_OK, RS_EOF, RS_FAILED };

struct iosim_trace_reader {
    char *path;
    FILE *f;
    bool text;
    iosim_trace_meta_t meta;
    uint64_t file_size;
    uint64_t nrec; /* records handed out so far */
    enum reader_state state;
    iosim_err_t failure; /* the error, repeated by later calls */

    trace_text_in_t txt;

    ZSTD_DStream *ds;
    uint8_t *ibuf;
    size_t icap;
    ZSTD_inBuffer in;
    uint64_t in_read; /* compressed bytes read from the file */
    uint64_t decoded; /* decompressed bytes produced so far */
    bool in_eof;
    bool frame_done; /* last decompress call ended a frame */
    uint8_t *obuf;
    size_t opos, ofill;

    /* format v2 */
    unsigned version;
    uint64_t off; /* file bytes consumed */
    ZSTD_DCtx *dctx;
    uint8_t *cblk; /* one block's zstd frame */
    size_t cblk_cap;
    uint8_t *pay; /* one block's payload (columns) */
    size_t pay_cap;
    trace_v2_dec_t dec;
    uint64_t blk_first;       /* number of the block's first record */
    trace_v2_entry_t *blocks; /* blocks read, checked against the index */
    size_t nblocks, blocks_cap;
    /* iosim_trace_seek(): the index, read from the end of the file once */
    trace_v2_entry_t *index;
    size_t nindex;
    uint64_t index_off; /* the index frame's offset */
    /* iosim_trace_set_decode_threads(): blocks decoded ahead (NULL: off) */
    struct v2_par *par;
    unsigned decode_threads;
    bool par_ended;    /* they stopped at the index or a bad frame */
    uint64_t data_off; /* offset of the first block (after the header) */

    /* iosim_trace_keep(): a copy of every record handed out (NULL: none
     * kept), room for the index's record count */
    iosim_rec_t *kept;
    uint64_t nkept, kept_cap;
    /* a reader of kept records (iosim_trace_reopen): mem[0 .. nmem), the
     * next at mem_pos; no file */
    iosim_rec_t *mem;
    uint64_t nmem, mem_pos;
};

/* Decompresses until at least one more byte is buffered (returns 1), the
 * stream ends cleanly (0), it ends inside a frame (-2) or fails (-1, err
 * set).  Keeps the undecoded tail at the front of obuf. */
bool trace_zstd_oom(size_t code)
{
    return ZSTD_isError(code) &&
           ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation;
}

const char *trace_zstd_why(size_t code)
{
    return trace_zstd_oom(code) ? "out of memory" : ZSTD_getErrorName(code);
}

static int bin_fill(iosim_trace_reader_t *r, iosim_err_t *err)
{
    if (r->opos > 0) {
        memmove(r->obuf, r->obuf + r->opos, r->ofill - r->opos);
        r->ofill -= r->opos;
        r->opos = 0;
    }
    for (;;) {
        if (r->in.pos == r->in.size && !r->in_eof) {
            errno = 0;
            size_t got = fread(r->ibuf, 1, r->icap, r->f);
            if (got == 0) {
                if (ferror(r->f))
                    return iosim_err_set(err, "%s: read error: %s", r->path,
                                         iosim_errno_str(errno ? errno : EIO));
                r->in_eof = true;
            }
            r->in.src = r->ibuf;
            r->in.size = got;
            r->in.pos = 0;
            r->in_read += got;
        }
        ZSTD_outBuffer out = {r->obuf, TRACE_DECODE_BUF, r->ofill};
        size_t before = r->ofill, in_before = r->in.pos;
        size_t ret = ZSTD_decompressStream(r->ds, &out, &r->in);
        if (ZSTD_isError(ret))
            return iosim_err_set(err, "%s: %s%s", r->path,
                                 trace_zstd_oom(ret) ? ""
                                                     : "corrupt zstd stream: ",
                                 trace_zstd_why(ret));
        /* A call that moved nothing (empty input after a finished frame)
         * says "a next frame may start": it does not reopen the frame. */
        if (out.pos > before || r->in.pos > in_before)
            r->frame_done = (ret == 0);
        r->ofill = out.pos;
        r->decoded += out.pos - before;
        if (r->ofill > before)
            return 1;
        if (r->in.pos == r->in.size && r->in_eof)
            return r->frame_done ? 0 : -2;
    }
}

/* Copies the next n decompressed bytes to dst.  0 ok; 1 the stream ended
 * first (cleanly or not); -1 error. */
static int bin_take(iosim_trace_reader_t *r, uint8_t *dst, size_t n,
                    iosim_err_t *err)
{
    while (n > 0) {
        if (r->opos == r->ofill) {
            int rc = bin_fill(r, err);
            if (rc == -1)
                return -1;
            if (rc != 1)
                return 1;
        }
        size_t k = r->ofill - r->opos;
        if (k > n)
            k = n;
        memcpy(dst, r->obuf + r->opos, k);
        r->opos += k;
        dst += k;
        n -= k;
    }
    return 0;
}

static int parse_meta_block(iosim_trace_reader_t *r, char *block, size_t len,
                            iosim_err_t *err)
{
    if (memchr(block, '\0', len))
        return iosim_err_set(err, "%s: metadata contains a NUL byte", r->path);
    block[len] = '\0';
    char *p = block;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p) {
            char *eq = strchr(p, '=');
            if (!eq || eq == p)
                return iosim_err_set(err,
                                     "%s: metadata line '%.40s' is not "
                                     "key=value",
                                     r->path, p);
            *eq = '\0';
            char why[160];
            if (trace_meta_apply(&r->meta, p, eq + 1, why, sizeof why))
                return iosim_err_set(err, "%s: %s", r->path, why);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

static int bin_open(iosim_trace_reader_t *r, const uint8_t *sniff,
                    size_t nsniff, iosim_err_t *err)
{
    r->ds = ZSTD_createDStream();
    r->icap = ZSTD_DStreamInSize();
    r->ibuf = malloc(r->icap);
    r->obuf = malloc(TRACE_DECODE_BUF);
    if (!r->ds || !r->ibuf || !r->obuf)
        return iosim_err_set(err, "%s: out of memory", r->path);
    size_t ret = ZSTD_initDStream(r->ds);
    if (ZSTD_isError(ret))
        return iosim_err_set(err, "%s: zstd: %s", r->path,
                             ZSTD_getErrorName(ret));
    /* The sniffed bytes are the first input chunk (no seek needed). */
    memcpy(r->ibuf, sniff, nsniff);
    r->in.src = r->ibuf;
    r->in.size = nsniff;
    r->in.pos = 0;
    r->in_read = nsniff;

    uint8_t hdr[TRACE_HEADER_SIZE];
    int rc = bin_take(r, hdr, sizeof hdr, err);
    if (rc < 0)
        return -1;
    /* zstd hands out a block only once all of it arrived: a file cut
     * inside its first block decodes to nothing at all */
    if (rc > 0 && r->decoded == 0 && r->in_read > 0)
        return iosim_err_set(err,
                             "%s: truncated after 0 records (the file "
                             "ends inside the first zstd block, after "
                             "%" PRIu64 " compressed bytes: nothing "
                             "could be decoded)",
                             r->path, r->in_read);
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after 0 records (stream "
                             "ends inside the %u-byte header)",
                             r->path, TRACE_HEADER_SIZE);
    if (memcmp(hdr, TRACE_MAGIC, 8) != 0)
        return iosim_err_set(err,
                             "%s: wrong magic: zstd data but not an "
                             "iosim trace (expected \"%s\")",
                             r->path, TRACE_MAGIC);
    uint32_t version = get_le32(hdr + 8);
    uint32_t rec_size = get_le32(hdr + 12);
    uint32_t meta_len = get_le32(hdr + 16);
    if (version != 1)
        return iosim_err_set(err,
                             "%s: unsupported trace format version %" PRIu32
                             " in a plain zstd stream (this "
                             "build reads 1 there, and 2 in the "
                             "block container)",
                             r->path, version);
    if (rec_size != IOSIM_REC_DISK_SIZE)
        return iosim_err_set(err,
                             "%s: record_size %" PRIu32 " in header, "
                             "format v1 requires %u",
                             r->path, rec_size, IOSIM_REC_DISK_SIZE);
    if (meta_len > TRACE_META_MAX)
        return iosim_err_set(err,
                             "%s: metadata length %" PRIu32 " exceeds "
                             "the %u-byte limit",
                             r->path, meta_len, TRACE_META_MAX);
    char *block = malloc((size_t)meta_len + 1);
    if (!block)
        return iosim_err_set(err, "%s: out of memory", r->path);
    rc = bin_take(r, (uint8_t *)block, meta_len, err);
    if (rc > 0)
        iosim_err_set(err,
                      "%s: truncated after 0 records (stream ends "
                      "inside the metadata)",
                      r->path);
    if (rc == 0)
        rc = parse_meta_block(r, block, meta_len, err);
    free(block);
    return rc == 0 ? 0 : -1;
}

/* ---- format v2 ---------------------------------------------------------- */

/* Reads exactly n bytes of f at *off (advanced): 0 ok, 1 the file ended
 * first (*got says after how many), -1 read error. */
static int v2_fread(FILE *f, const char *path, uint64_t *off, void *dst,
                    size_t n, size_t *got, iosim_err_t *err)
{
    errno = 0;
    size_t k = n ? fread(dst, 1, n, f) : 0;
    *off += k;
    if (got)
        *got = k;
    if (k == n)
        return 0;
    if (ferror(f))
        return iosim_err_set(err, "%s: read error: %s", path,
                             iosim_errno_str(errno ? errno : EIO));
    return 1;
}

/* v2_fread at the reader's offset. */
static int v2_read(iosim_trace_reader_t *r, void *dst, size_t n, size_t *got,
                   iosim_err_t *err)
{
    return v2_fread(r->f, r->path, &r->off, dst, n, got, err);
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *p = realloc(*buf, need);
    if (!p)
        return -1;
    *buf = p;
    *cap = need;
    return 0;
}

/* The header frame (FORMAT.md §8.1); the 4-byte magic was sniffed. */
static int v2_open(iosim_trace_reader_t *r, iosim_err_t *err)
{
    r->version = 2;
    r->off = 4;
    r->dctx = ZSTD_createDCtx();
    if (!r->dctx)
        return iosim_err_set(err, "%s: out of memory", r->path);
    uint8_t b[TRACE_V2_HEADER_FIXED + 4];
    size_t got;
    int rc = v2_read(r, b, sizeof b, &got, err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after 0 records (the file "
                             "ends inside the %u-byte header frame)",
                             r->path, TRACE_V2_HEADER_FIXED + 8);
    uint32_t len = get_le32(b);
    if (memcmp(b + 4, TRACE_MAGIC, 8) != 0)
        return iosim_err_set(err,
                             "%s: wrong magic: a zstd skippable frame "
                             "but not an iosim trace (expected \"%s\")",
                             r->path, TRACE_MAGIC);
    uint32_t version = get_le32(b + 12);
    if (version != 2)
        return iosim_err_set(err,
                             "%s: unsupported trace format version %" PRIu32
                             " in the block container (this "
                             "build reads 2 there, and 1 in a plain "
                             "zstd stream)",
                             r->path, version);
    uint32_t meta_len = get_le32(b + 16);
    if (meta_len > TRACE_META_MAX)
        return iosim_err_set(err,
                             "%s: metadata length %" PRIu32 " exceeds "
                             "the %u-byte limit",
                             r->path, meta_len, TRACE_META_MAX);
    if (len != TRACE_V2_HEADER_FIXED + meta_len)
        return iosim_err_set(err,
                             "%s: bad header: its frame holds %" PRIu32
                             " bytes, %u + meta_len %" PRIu32 " expected",
                             r->path, len, TRACE_V2_HEADER_FIXED, meta_len);
    char *block = malloc((size_t)meta_len + 1);
    if (!block)
        return iosim_err_set(err, "%s: out of memory", r->path);
    rc = v2_read(r, block, meta_len, NULL, err);
    if (rc > 0)
        iosim_err_set(err,
                      "%s: truncated after 0 records (the file ends "
                      "inside the metadata)",
                      r->path);
    if (rc == 0)
        rc = parse_meta_block(r, block, meta_len, err);
    free(block);
    r->data_off = r->off;
    return rc == 0 ? 0 : -1;
}

/* The index frame and the footer (FORMAT.md §8.5), after the last block:
 * they must list exactly the blocks read, and end the file.  len is the
 * frame's length field. */
static int v2_index(iosim_trace_reader_t *r, uint32_t len, iosim_err_t *err)
{
    uint64_t want =
        8 + (uint64_t)TRACE_V2_INDEX_ENTRY * r->nblocks + TRACE_V2_FOOTER;
    if (len != want)
        return iosim_err_set(err,
                             "%s: bad index: its frame holds %" PRIu32
                             " bytes, %zu blocks need %" PRIu64,
                             r->path, len, r->nblocks, want);
    uint8_t b[TRACE_V2_INDEX_ENTRY];
    size_t got;
    int rc = v2_read(r, b, 8, &got, err);
    for (size_t i = 0; rc == 0 && i <= r->nblocks; i++) {
        if (i == 0 && memcmp(b, TRACE_V2_INDEX_MAGIC, 8) != 0)
            return iosim_err_set(err,
                                 "%s: bad index: it does not start "
                                 "with \"%s\"",
                                 r->path, TRACE_V2_INDEX_MAGIC);
        rc = v2_read(r, b, sizeof b, &got, err); /* entry, last the footer */
        if (rc || i == r->nblocks)
            break;
        const trace_v2_entry_t *e = &r->blocks[i];
        if (get_le64(b) != e->offset || get_le32(b + 8) != e->frame_len ||
            get_le32(b + 12) != e->nrec)
            return iosim_err_set(err,
                                 "%s: bad index: entry %zu says offset "
                                 "%" PRIu64 ", %" PRIu32 " bytes, %" PRIu32
                                 " records; the block read there "
                                 "has offset %" PRIu64 ", %" PRIu32
                                 " bytes, %" PRIu32 " records",
                                 r->path, i, get_le64(b), get_le32(b + 8),
                                 get_le32(b + 12), e->offset, e->frame_len,
                                 e->nrec);
    }
    if (rc < 0)
        return -1;
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after %" PRIu64 " records "
                             "(the file ends inside the block index)",
                             r->path, r->nrec);
    if (get_le64(b) != r->nrec || get_le32(b + 8) != r->nblocks ||
        memcmp(b + 12, TRACE_V2_FOOTER_MAGIC, 4) != 0)
        return iosim_err_set(err,
                             "%s: bad index: the footer says %" PRIu64
                             " records in %" PRIu32 " blocks, the file "
                             "holds %" PRIu64 " in %zu",
                             r->path, get_le64(b), get_le32(b + 8), r->nrec,
                             r->nblocks);
    if (fgetc(r->f) != EOF)
        return iosim_err_set(
            err, "%s: data after the block index (offset %" PRIu64 ")", r->path,
            r->off);
    return 0;
}

/* Where block k's frames are and what its header says. */
typedef struct v2_frame {
    uint64_t at;   /* file offset of its skippable header */
    uint32_t nrec; /* records, from its header */
    uint32_t flen; /* bytes of its zstd frame  */
} v2_frame_t;

/* Reads the frame at *off in f, the one after block k - 1 (or after the
 * header when k is 0; nrec_before records come before it, for messages):
 * a block header and its zstd frame into *cblk (returns 1, *fr says
 * where), or the index frame's header (returns 2, *index_len its length
 * field), or fails (-1). */
static int v2_frame_read(FILE *f, const char *path, uint64_t *off, uint64_t k,
                         uint64_t nrec_before, uint8_t **cblk, size_t *cblk_cap,
                         v2_frame_t *fr, uint32_t *index_len, iosim_err_t *err)
{
    uint64_t at = *off;
    uint8_t b[4 + 4 + TRACE_V2_BLOCK_HDR];
    size_t got;
    int rc = v2_fread(f, path, off, b, 8, &got, err);
    if (rc < 0)
        return -1;
    if (rc > 0 && got == 0 && k == 0)
        return iosim_err_set(err,
                             "%s: truncated after 0 records (the file "
                             "ends after the header without the block "
                             "index)",
                             path);
    if (rc > 0 && got == 0)
        return iosim_err_set(err,
                             "%s: truncated after %" PRIu64 " records "
                             "(the file ends after block %" PRIu64
                             " without the block index)",
                             path, nrec_before, k - 1);
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after %" PRIu64 " records "
                             "(the file ends inside a frame header at "
                             "offset %" PRIu64 ")",
                             path, nrec_before, at);
    uint32_t magic = get_le32(b), len = get_le32(b + 4);
    if (magic == TRACE_V2_MAGIC_INDEX) {
        *index_len = len;
        return 2;
    }
    if (magic != TRACE_V2_MAGIC_BLOCK || len != TRACE_V2_BLOCK_HDR)
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": bad block header "
                             "at offset %" PRIu64 " (magic 0x%08" PRIx32
                             ", length %" PRIu32 ")",
                             path, k, at, magic, len);
    rc = v2_fread(f, path, off, b + 8, TRACE_V2_BLOCK_HDR, &got, err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after %" PRIu64 " records "
                             "(the file ends inside the header of block "
                             "%" PRIu64 ")",
                             path, nrec_before, k);
    uint32_t nrec = get_le32(b + 8), flen = get_le32(b + 12);
    if (nrec == 0 || nrec > TRACE_V2_BLOCK_RECS_MAX)
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": bad block header: "
                             "%" PRIu32 " records (1 to %u allowed)",
                             path, k, nrec, TRACE_V2_BLOCK_RECS_MAX);
    if (flen < 6 || flen > ZSTD_compressBound(TRACE_V2_PAYLOAD_MAX))
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": bad block header: "
                             "a %" PRIu32 "-byte frame",
                             path, k, flen);
    if (grow(cblk, cblk_cap, flen))
        return iosim_err_set(err, "%s: out of memory", path);
    rc = v2_fread(f, path, off, *cblk, flen, &got, err);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return iosim_err_set(err,
                             "%s: truncated after %" PRIu64 " records "
                             "(the file ends inside block %" PRIu64
                             ", after %zu of its %" PRIu32 " bytes)",
                             path, nrec_before, k, got, flen);
    *fr = (v2_frame_t){at, nrec, flen};
    return 1;
}

/* Checks and decompresses block k's zstd frame cblk into *pay and sets
 * dec up on it.  0, or -1 with err set. */
static int v2_unpack(ZSTD_DCtx *dctx, const char *path, uint64_t k,
                     uint64_t nrec_before, const uint8_t *cblk,
                     const v2_frame_t *fr, uint8_t **pay, size_t *pay_cap,
                     trace_v2_dec_t *dec, iosim_err_t *err)
{
    uint32_t flen = fr->flen, nrec = fr->nrec;
    /* RFC 8878 §3.1.1.1.1: Frame_Header_Descriptor bit 2 is the
     * Content_Checksum_flag; v2 requires it on every block. */
    if (memcmp(cblk, zstd_magic, 4) != 0 || !(cblk[4] & 0x04))
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": not a zstd frame "
                             "with a content checksum",
                             path, k);
    unsigned long long fcs = ZSTD_getFrameContentSize(cblk, flen);
    size_t fl = ZSTD_findFrameCompressedSize(cblk, flen);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
        fcs > TRACE_V2_PAYLOAD_MAX || ZSTD_isError(fl) || fl != flen)
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": corrupt zstd frame "
                             "header (content size or length)",
                             path, k);
    if (grow(pay, pay_cap, (size_t)fcs ? (size_t)fcs : 1))
        return iosim_err_set(err, "%s: out of memory", path);
    size_t n = ZSTD_decompressDCtx(dctx, *pay, (size_t)fcs, cblk, flen);
    if (ZSTD_isError(n) && ZSTD_getErrorCode(n) == ZSTD_error_checksum_wrong)
        return iosim_err_set(err,
                             "%s: block %" PRIu64 " (records %" PRIu64
                             " to %" PRIu64 "): wrong checksum",
                             path, k, nrec_before, nrec_before + nrec - 1);
    if (ZSTD_isError(n) && trace_zstd_oom(n))
        return iosim_err_set(err, "%s: block %" PRIu64 ": out of memory", path,
                             k);
    if (ZSTD_isError(n))
        return iosim_err_set(err,
                             "%s: block %" PRIu64 ": corrupt zstd data: "
                             "%s",
                             path, k, ZSTD_getErrorName(n));
    char why[160];
    if (n != fcs) {
        snprintf(why, sizeof why, "%zu bytes decoded, %llu announced", n, fcs);
    } else if (trace_v2_dec_begin(dec, *pay, n, why, sizeof why)) {
        /* why says it */
    } else if (dec->nrec != nrec) {
        snprintf(why, sizeof why,
                 "%" PRIu32 " records in the payload, %" PRIu32
                 " in the block header",
                 dec->nrec, nrec);
    } else {
        return 0;
    }
    return iosim_err_set(err, "%s: block %" PRIu64 ": bad payload: %s", path, k,
                         why);
}

/* Appends a block read to the list the index is checked against. */
static int v2_note_block(iosim_trace_reader_t *r, const trace_v2_entry_t *e,
                         iosim_err_t *err)
{
    if (vec_reserve(&r->blocks, &r->blocks_cap, r->nblocks + 1, 64))
        return iosim_err_set(err, "%s: out of memory", r->path);
    r->blocks[r->nblocks++] = *e;
    return 0;
}

/* Reads the next frame after a block: loads the next block into r->dec
 * (returns 1), or checks the index at the end (0), or fails (-1).
 * r->nrec counts the records of the blocks before. */
static int v2_next_block(iosim_trace_reader_t *r, iosim_err_t *err)
{
    v2_frame_t fr = {0};
    uint32_t index_len = 0;
    int rc = v2_frame_read(r->f, r->path, &r->off, r->nblocks, r->nrec,
                           &r->cblk, &r->cblk_cap, &fr, &index_len, err);
    if (rc < 0)
        return -1;
    if (rc == 2)
        return v2_index(r, index_len, err);
    if (v2_unpack(r->dctx, r->path, r->nblocks, r->nrec, r->cblk, &fr, &r->pay,
                  &r->pay_cap, &r->dec, err) ||
        v2_note_block(r, &(trace_v2_entry_t){fr.at, fr.flen, fr.nrec}, err))
        return -1;
    r->blk_first = r->nrec;
    return 1;
}

/* ---- format v2: blocks decoded ahead on threads ---------------------------
 * iosim_trace_set_decode_threads(r, n): n decoder threads take the blocks in
 * file order: each reads its block's frames from the file under the lock
 * (so the file is read in order and once), then decompresses and decodes the
 * block outside it into a ring slot; the reading thread hands the slots'
 * records out in block order.  Decoders handle only blocks that decode
 * cleanly: the index frame, and any frame that fails a check, stops them,
 * and the reading thread goes back to the one-thread path at that frame's
 * offset, so the end-of-trace checks and every error message are those of
 * reading without threads. */
#define V2_PAR_THREADS_MAX 16u

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_STOP };

typedef struct v2_slot {
    int state;          /* under lock                              */
    trace_v2_entry_t e; /* the block (e.offset: also for SLOT_STOP) */
    uint64_t end_off;   /* file offset after its frames            */
    iosim_rec_t *recs;  /* its records (a decoder's while BUSY)    */
    size_t cap;         /* records recs holds                      */
    uint32_t pos;       /* records handed out (the reading thread) */
} v2_slot_t;

typedef struct v2_par {
    pthread_mutex_t lock;
    pthread_cond_t work;  /* -> decoders: a slot freed, or stop */
    pthread_cond_t ready; /* -> reader: a slot decoded          */
    pthread_t *th;
    unsigned nth;
    FILE *f;
    const char *path;
    /* under lock: */
    uint64_t off;          /* offset of the next frame to read   */
    uint64_t next_claim;   /* next block to read (from 0 here)   */
    uint64_t next_deliver; /* block the reader takes records of  */
    bool stop;             /* the reader is done with decoders   */
    bool end;              /* a frame was not decoded: no claims */
    /* the reader's own: the slot of next_deliver was handed out whole in
     * place (v2_par_view) and is freed at the next take */
    bool held;
    size_t nslots;
    v2_slot_t *slot;
} v2_par_t;

/* A slot's records, not kept (a block of 65,536 records takes 3 MB).
 * Where Linux gives transparent huge pages on request (MADV_HUGEPAGE),
 * its whole 2 MB pieces in huge pages (the rest in 4 KB pages, so that
 * it stays as resident as its records): a decoder's slots, touched first
 * by their first block, cost 3,000 page faults of 4 KB otherwise, 8 ms
 * of a 0.9 CPU s sweep of gen nic's 200k packets with --threads 2
 * (2026-12-07; 2.6 us a 4 KB page on this VM, 0.64 ms for 12 MB of huge
 * pages).  A system without them (or with them off) gives 4 KB pages as
 * before. */
static iosim_rec_t *slot_recs_alloc(size_t nrec)
{
    size_t bytes = nrec * sizeof(iosim_rec_t);
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    if (bytes >= huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, bytes))
            return NULL;
        /* a hint: may be refused */
        (void)madvise(p, bytes & ~(huge - 1), MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes);
}

static void *v2_par_main(void *arg)
{
    v2_par_t *p = arg;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    uint8_t *cblk = NULL, *pay = NULL;
    size_t cblk_cap = 0, pay_cap = 0;
    trace_v2_dec_t dec;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop &&
               (p->end || p->next_claim - p->next_deliver >= p->nslots))
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        v2_slot_t *s = &p->slot[p->next_claim++ % p->nslots];
        s->state = SLOT_BUSY;
        s->e.offset = p->off;
        v2_frame_t fr;
        uint32_t index_len;
        iosim_err_t e; /* the one-thread path says it again */
        bool ok = dctx && v2_frame_read(p->f, p->path, &p->off, 0, 0, &cblk,
                                        &cblk_cap, &fr, &index_len, &e) == 1;
        if (ok) {
            s->e = (trace_v2_entry_t){fr.at, fr.flen, fr.nrec};
            s->end_off = p->off;
            pthread_mutex_unlock(&p->lock);
            char why[160];
            size_t good = 0;
            ok = v2_unpack(dctx, p->path, 0, 0, cblk, &fr, &pay, &pay_cap, &dec,
                           &e) == 0;
            if (ok && s->cap < fr.nrec) {
                iosim_rec_t *q = slot_recs_alloc(fr.nrec);
                ok = q != NULL;
                if (ok) {
                    free(s->recs);
                    s->recs = q;
                    s->cap = fr.nrec;
                }
            }
            ok = ok &&
                 trace_v2_dec_read(&dec, s->recs, fr.nrec, &good, why,
                                   sizeof why) == 0 &&
                 good == fr.nrec;
            pthread_mutex_lock(&p->lock);
        }
        s->state = ok ? SLOT_READY : SLOT_STOP;
        if (!ok)
            p->end = true;
        pthread_cond_broadcast(&p->ready);
    }
    pthread_mutex_unlock(&p->lock);
    ZSTD_freeDCtx(dctx);
    free(cblk);
    free(pay);
    return NULL;
}

/* Joins the decoders and frees what they used. */
static void v2_par_stop(iosim_trace_reader_t *r)
{
    v2_par_t *p = r->par;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    for (size_t i = 0; i < p->nslots; i++)
        free(p->slot[i].recs);
    free(p->slot);
    free(p->th);
    free(p);
    r->par = NULL;
}

/* Starts the decoders at r->off (a frame boundary: the current block is
 * in r->dec).  Any failure leaves r->par NULL: the one-thread path then
 * reads on, with the same result. */
static void v2_par_start(iosim_trace_reader_t *r)
{
    v2_par_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->nth = r->decode_threads;
    p->nslots = 2 * (size_t)p->nth + 2;
    p->th = calloc(p->nth, sizeof *p->th);
    p->slot = calloc(p->nslots, sizeof *p->slot);
    p->f = r->f;
    p->path = r->path;
    p->off = r->off;
    if (!p->th || !p->slot || pthread_mutex_init(&p->lock, NULL)) {
        free(p->th);
        free(p->slot);
        free(p);
        return;
    }
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->ready, NULL);
    r->par = p;
    unsigned started = 0;
    while (started < p->nth &&
           pthread_create(&p->th[started], NULL, v2_par_main, p) == 0)
        started++;
    p->nth = started;
    if (started == 0)
        v2_par_stop(r);
}

/* The slot of next_deliver, all of whose records were handed out, goes
 * back to the decoders. */
static void v2_par_free_slot(v2_par_t *p, v2_slot_t *s)
{
    pthread_mutex_lock(&p->lock);
    s->pos = 0;
    s->state = SLOT_FREE;
    p->next_deliver++;
    p->held = false;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* The next records from the decoders, up to max of them: how many (at
 * least 1), from *recs on, where *recs points into the slot that holds
 * them; 0 when the decoders stopped at a frame they did not decode: the
 * decoders are then joined and r->f and r->off are at that frame, for the
 * one-thread path to read; -1 with err set on a failure of its own.  The
 * records stay where they are until the next take: a slot handed out
 * whole is freed then. */
static long v2_par_view(iosim_trace_reader_t *r, const iosim_rec_t **recs,
                        size_t max, iosim_err_t *err)
{
    v2_par_t *p = r->par;
    v2_slot_t *s = &p->slot[p->next_deliver % p->nslots];
    if (p->held) {
        v2_par_free_slot(p, s);
        s = &p->slot[p->next_deliver % p->nslots];
    }
    pthread_mutex_lock(&p->lock);
    while (s->state != SLOT_READY && s->state != SLOT_STOP)
        pthread_cond_wait(&p->ready, &p->lock);
    pthread_mutex_unlock(&p->lock);
    if (s->state == SLOT_STOP) {
        uint64_t at = s->e.offset;
        v2_par_stop(r);
        r->par_ended = true;
        if (fseeko(r->f, (off_t)at, SEEK_SET) != 0)
            return iosim_err_set(err,
                                 "%s: cannot seek to offset %" PRIu64 ": %s",
                                 r->path, at, iosim_errno_str(errno));
        r->off = at;
        return 0;
    }
    if (s->pos == 0) {
        if (v2_note_block(r, &s->e, err))
            return -1;
        r->off = s->end_off;
    }
    size_t k = s->e.nrec - s->pos;
    if (k > max)
        k = max;
    *recs = s->recs + s->pos;
    s->pos += (uint32_t)k;
    p->held = s->pos == s->e.nrec;
    return (long)k;
}

/* v2_par_view's records copied into out[0 .. max) (the slot is freed
 * at once when they were its last). */
static long v2_par_take(iosim_trace_reader_t *r, iosim_rec_t *out, size_t max,
                        iosim_err_t *err)
{
    const iosim_rec_t *recs;
    long k = v2_par_view(r, &recs, max, err);
    if (k <= 0)
        return k;
    memcpy(out, recs, (size_t)k * sizeof *out);
    v2_par_t *p = r->par;
    if (p->held)
        v2_par_free_slot(p, &p->slot[p->next_deliver % p->nslots]);
    return k;
}

void iosim_trace_set_decode_threads(iosim_trace_reader_t *r, unsigned n)
{
    if (r->text || r->version != 2)
        return;
    v2_par_stop(r);
    if (n > V2_PAR_THREADS_MAX)
        n = V2_PAR_THREADS_MAX;
    /* the decoders' end goes back to the one-thread path with a seek:
     * only on a regular file */
    struct stat st;
    if (fstat(fileno(r->f), &st) || !S_ISREG(st.st_mode))
        n = 0;
    r->decode_threads = n;
}

/* Same contract as trace_text_read(). */
static long v2_read_recs(iosim_trace_reader_t *r, iosim_rec_t *out, size_t max,
                         size_t *good, iosim_err_t *err)
{
    size_t n = 0;
    while (n < max) {
        if (r->dec.done < r->dec.nrec) {
            size_t k;
            char why[160];
            long rc = trace_v2_dec_read(&r->dec, out + n, max - n, &k, why,
                                        sizeof why);
            n += k;
            if (rc < 0) {
                *good = n;
                if (r->dec.done == r->dec.nrec) /* all records decoded */
                    return iosim_err_set(err,
                                         "%s: block %zu: bad payload: "
                                         "%s",
                                         r->path, r->nblocks - 1, why);
                return iosim_err_set(err,
                                     "%s: record %" PRIu64 " (block %zu"
                                     "): %s",
                                     r->path, r->blk_first + r->dec.done,
                                     r->nblocks - 1, why);
            }
            continue;
        }
        if (!r->par && r->decode_threads && !r->par_ended)
            v2_par_start(r);
        if (r->par) {
            long k = v2_par_take(r, out + n, max - n, err);
            if (k < 0) {
                *good = n;
                return -1;
            }
            n += (size_t)k;
            if (k > 0)
                continue;
        }
        /* the caller's count includes the records handed out before */
        uint64_t saved = r->nrec;
        r->nrec += n;
        int rc = v2_next_block(r, err);
        r->nrec = saved;
        if (rc <= 0) {
            *good = n;
            return rc;
        }
    }
    *good = n;
    return 1;
}

/* ---- format v2: seeking through the index (FORMAT.md §8.5) -------------- */

/* Reads and checks the index from the end of the file (once): the footer,
 * the index frame it points to, and blocks that follow one another from
 * the header to the index frame with record counts adding up to the
 * footer's.  0, or -1 with one line in err. */
static int v2_load_index(iosim_trace_reader_t *r, iosim_err_t *err)
{
    if (r->index) /* calloc'd even for 0 blocks */
        return 0;
    int fd = fileno(r->f);
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return iosim_err_set(err,
                             "%s: cannot seek: not a regular file (the "
                             "block index is read from its end)",
                             r->path);
    uint64_t size = (uint64_t)st.st_size;
    uint8_t foot[TRACE_V2_FOOTER];
    if (size < r->data_off + 16 + TRACE_V2_FOOTER ||
        pread(fd, foot, sizeof foot, (off_t)(size - sizeof foot)) !=
            (ssize_t)sizeof foot ||
        memcmp(foot + 12, TRACE_V2_FOOTER_MAGIC, 4) != 0)
        return iosim_err_set(err,
                             "%s: cannot seek: no block index (the file "
                             "does not end with the \"%s\" footer)",
                             r->path, TRACE_V2_FOOTER_MAGIC);
    uint64_t total = get_le64(foot);
    uint32_t nb = get_le32(foot + 8);
    uint64_t len = 8 + (uint64_t)TRACE_V2_INDEX_ENTRY * nb + TRACE_V2_FOOTER;
    if (len + 8 > size - r->data_off)
        return iosim_err_set(err,
                             "%s: bad index: the footer says %" PRIu32
                             " blocks, more than the file can hold",
                             r->path, nb);
    uint64_t at = size - 8 - len;
    uint8_t *b = malloc((size_t)len + 8);
    trace_v2_entry_t *ix = calloc(nb ? nb : 1, sizeof *ix);
    if (!b || !ix) {
        free(b);
        free(ix);
        return iosim_err_set(err, "%s: out of memory", r->path);
    }
    int rc = 0;
    errno = 0;
    if (pread(fd, b, (size_t)len + 8, (off_t)at) != (ssize_t)len + 8)
        rc = iosim_err_set(err, "%s: cannot seek: read error: %s", r->path,
                           iosim_errno_str(errno ? errno : EIO));
    else if (get_le32(b) != TRACE_V2_MAGIC_INDEX || get_le32(b + 4) != len ||
             memcmp(b + 8, TRACE_V2_INDEX_MAGIC, 8) != 0)
        rc = iosim_err_set(err,
                           "%s: bad index: no index frame of %" PRIu32
                           " blocks at offset %" PRIu64 ", where the footer "
                           "puts it",
                           r->path, nb, at);
    uint64_t next = r->data_off, sum = 0;
    for (uint32_t j = 0; rc == 0 && j < nb; j++) {
        const uint8_t *p = b + 16 + (size_t)TRACE_V2_INDEX_ENTRY * j;
        ix[j] =
            (trace_v2_entry_t){get_le64(p), get_le32(p + 8), get_le32(p + 12)};
        if (ix[j].offset != next || ix[j].nrec == 0 ||
            ix[j].nrec > TRACE_V2_BLOCK_RECS_MAX || ix[j].frame_len < 6 ||
            ix[j].frame_len > at - next)
            rc = iosim_err_set(
                err,
                "%s: bad index: entry %" PRIu32 " says offset %" PRIu64
                ", %" PRIu32 " bytes, %" PRIu32 " records; block %" PRIu32
                " starts at %" PRIu64 " and ends before the index at %" PRIu64,
                r->path, j, ix[j].offset, ix[j].frame_len, ix[j].nrec, j, next,
                at);
        next += 8 + TRACE_V2_BLOCK_HDR + (uint64_t)ix[j].frame_len;
        sum += ix[j].nrec;
    }
    if (rc == 0 && (next != at || sum != total))
        rc = iosim_err_set(err,
                           "%s: bad index: its blocks end at offset %" PRIu64
                           " and hold %" PRIu64 " records; the index frame "
                           "is at %" PRIu64 " and the footer says %" PRIu64,
                           r->path, next, sum, at, total);
    free(b);
    if (rc) {
        free(ix);
        return -1;
    }
    r->index = ix;
    r->nindex = nb;
    r->index_off = at;
    return 0;
}

int iosim_trace_seek(iosim_trace_reader_t *r, uint64_t record, iosim_err_t *err)
{
    if (r->text || r->version != 2)
        return iosim_err_set(err,
                             "%s: cannot seek: %s has no block index (only "
                             "format v2 has one: iosim-trace convert "
                             "writes it)",
                             r->path,
                             r->text ? "the text form" : "a format v1 trace");
    if (r->state == RS_FAILED) {
        if (err)
            *err = r->failure;
        return -1;
    }
    if (v2_load_index(r, err))
        return -1;
    uint64_t total = 0;
    size_t j = 0;
    for (; j < r->nindex && total + r->index[j].nrec <= record; j++)
        total += r->index[j].nrec;
    if (j == r->nindex && record > total)
        return iosim_err_set(err,
                             "%s: cannot seek to record %" PRIu64
                             ": the trace has %" PRIu64 " records",
                             r->path, record, total);
    v2_par_stop(r);
    r->par_ended = false;
    /* the blocks before count as read, for the check of the index at the
     * end: they are the index's own entries */
    r->nblocks = 0;
    for (size_t i = 0; i < j; i++)
        if (v2_note_block(r, &r->index[i], err))
            return -1;
    memset(&r->dec, 0, sizeof r->dec);
    uint64_t at = j < r->nindex ? r->index[j].offset : r->index_off;
    if (fseeko(r->f, (off_t)at, SEEK_SET) != 0)
        return iosim_err_set(err, "%s: cannot seek to offset %" PRIu64 ": %s",
                             r->path, at, iosim_errno_str(errno));
    r->off = at;
    r->nrec = total; /* the first record of block j */
    r->state = RS_OK;
    if (j == r->nindex)
        return 0; /* the end: the next read checks the index */
    int rc = v2_next_block(r, &r->failure);
    if (rc == 0)
        iosim_err_set(&r->failure,
                      "%s: bad index: block %zu is not at offset %" PRIu64,
                      r->path, j, at);
    iosim_rec_t skip[256];
    while (rc == 1 && r->nrec < record) {
        size_t want = record - r->nrec < 256 ? (size_t)(record - r->nrec) : 256;
        size_t good;
        char why[160];
        if (trace_v2_dec_read(&r->dec, skip, want, &good, why, sizeof why)) {
            iosim_err_set(&r->failure, "%s: record %" PRIu64 " (block %zu): %s",
                          r->path, r->nrec + good, j, why);
            rc = -1;
        }
        r->nrec += good;
    }
    if (rc == 1)
        return 0;
    r->state = RS_FAILED;
    if (err)
        *err = r->failure;
    return -1;
}

/* Same contract as trace_text_read(). */
static long bin_read(iosim_trace_reader_t *r, iosim_rec_t *out, size_t max,
                     size_t *good, iosim_err_t *err)
{
    size_t n = 0;
    while (n < max) {
        size_t avail = (r->ofill - r->opos) / IOSIM_REC_DISK_SIZE;
        if (avail > 0) {
            if (avail > max - n)
                avail = max - n;
            const uint8_t *p = r->obuf + r->opos;
            for (size_t i = 0; i < avail; i++, p += IOSIM_REC_DISK_SIZE) {
                rec_decode(p, &out[n]);
                if (!kind_valid(out[n].kind)) {
                    *good = n;
                    return iosim_err_set(
                        err, "%s: record %" PRIu64 ": unknown kind %u", r->path,
                        r->nrec + n, (unsigned)out[n].kind);
                }
                n++;
            }
            r->opos += avail * IOSIM_REC_DISK_SIZE;
            continue;
        }
        int rc = bin_fill(r, err);
        if (rc == 1)
            continue;
        *good = n;
        if (rc == -1)
            return -1;
        if (rc == -2)
            return iosim_err_set(err,
                                 "%s: truncated after %" PRIu64
                                 " records (compressed stream ends "
                                 "inside a zstd frame)",
                                 r->path, r->nrec + n);
        size_t left = r->ofill - r->opos;
        if (left > 0)
            return iosim_err_set(err,
                                 "%s: truncated after %" PRIu64
                                 " records (%zu bytes of a partial "
                                 "record at the end)",
                                 r->path, r->nrec + n, left);
        return 0;
    }
    *good = n;
    return 1;
}

/* The reader on an open stream f (taken over: closed by
 * iosim_trace_close, also when the open fails); size is the file's
 * length for progress (0: unknown). */
static iosim_trace_reader_t *open_on(FILE *f, const char *path, uint64_t size,
                                     iosim_err_t *err)
{
    iosim_trace_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        fclose(f);
        iosim_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    r->f = f;
    r->file_size = size;
    r->path = strdup(path);
    snprintf(r->meta.time_unit, sizeof r->meta.time_unit, "ns");
    if (!r->path) {
        iosim_err_set(err, "%s: out of memory", path);
        goto fail;
    }
    uint8_t sniff[4];
    errno = 0;
    size_t got = fread(sniff, 1, sizeof sniff, r->f);
    if (got < sizeof sniff && ferror(r->f)) {
        iosim_err_set(err, "%s: %s", path,
                      iosim_errno_str(errno ? errno : EIO));
        goto fail;
    }
    if (got == sizeof sniff && !memcmp(sniff, zstd_magic, sizeof sniff)) {
        r->version = 1;
        if (bin_open(r, sniff, got, err))
            goto fail;
        return r;
    }
    if (got == sizeof sniff &&
        (get_le32(sniff) & SKIPPABLE_MASK) == SKIPPABLE_BASE) {
        if (get_le32(sniff) != TRACE_V2_MAGIC_HEADER) {
            iosim_err_set(err,
                          "%s: wrong magic: a zstd skippable frame but "
                          "not an iosim trace header",
                          path);
            goto fail;
        }
        if (v2_open(r, err))
            goto fail;
        return r;
    }
    r->text = true;
    if (fseek(r->f, 0, SEEK_SET) != 0) {
        iosim_err_set(err, "%s: cannot rewind to read as text: %s", path,
                      iosim_errno_str(errno));
        goto fail;
    }
    r->txt.f = r->f;
    r->txt.path = r->path;
    if (trace_text_open(&r->txt, &r->meta, err))
        goto fail;
    return r;
fail:
    iosim_trace_close(r);
    return NULL;
}

iosim_trace_reader_t *iosim_trace_open(const char *path, iosim_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        iosim_err_set(err, "%s: %s", path, iosim_errno_str(errno));
        return NULL;
    }
    struct stat st;
    uint64_t size = 0;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            iosim_err_set(err, "%s: %s", path, strerror(EISDIR));
            return NULL;
        }
        size = (uint64_t)st.st_size;
    }
    return open_on(f, path, size, err);
}

iosim_trace_reader_t *trace_open_stream(FILE *f, const char *name,
                                        uint64_t size, iosim_err_t *err)
{
    return open_on(f, name, size, err);
}

const iosim_trace_meta_t *iosim_trace_meta(const iosim_trace_reader_t *r)
{
    return &r->meta;
}

const char *iosim_trace_path(const iosim_trace_reader_t *r) { return r->path; }

/* The records r hands out, copied to r->kept while it keeps them (more
 * than the index said: it keeps none). */
static void keep_add(iosim_trace_reader_t *r, const iosim_rec_t *recs, size_t n)
{
    if (!r->kept || !n)
        return;
    if (recs == r->kept + r->nkept) { /* decoded in place (read_ref) */
        r->nkept += n;
        return;
    }
    if (n > r->kept_cap - r->nkept) {
        free(r->kept);
        r->kept = NULL;
        return;
    }
    memcpy(r->kept + r->nkept, recs, n * sizeof *recs);
    r->nkept += n;
}

/* A reader of kept records: up to max of them in place (at least one;
 * the end when none is left). */
static long mem_view(iosim_trace_reader_t *r, size_t max,
                     const iosim_rec_t **recs)
{
    uint64_t k = r->nmem - r->mem_pos;
    if (k > max)
        k = max;
    *recs = r->mem + r->mem_pos;
    r->mem_pos += k;
    r->nrec += k;
    if (k == 0)
        r->state = RS_EOF;
    return (long)k;
}

long iosim_trace_read(iosim_trace_reader_t *r, iosim_rec_t *out, size_t max,
                      iosim_err_t *err)
{
    if (r->state == RS_FAILED) {
        if (err)
            *err = r->failure;
        return -1;
    }
    if (r->state == RS_EOF || max == 0)
        return 0;
    if (r->mem) {
        const iosim_rec_t *recs;
        long k = mem_view(r, max, &recs);
        memcpy(out, recs, (size_t)k * sizeof *out);
        return k;
    }
    size_t good = 0;
    long rc = r->text ? trace_text_read(&r->txt, out, max, &good, &r->failure)
              : r->version == 2 ? v2_read_recs(r, out, max, &good, &r->failure)
                                : bin_read(r, out, max, &good, &r->failure);
    r->nrec += good;
    keep_add(r, out, good);
    if (rc < 0) {
        r->state = RS_FAILED; /* (what it kept is never given: not EOF) */
        if (good > 0)
            return (long)good; /* the error comes with the next call */
        if (err)
            *err = r->failure;
        return -1;
    }
    if (rc == 0)
        r->state = RS_EOF;
    return (long)good;
}

long iosim_trace_read_ref(iosim_trace_reader_t *r, iosim_rec_t *buf, size_t max,
                          const iosim_rec_t **recs, iosim_err_t *err)
{
    *recs = buf;
    if (r->mem && r->state == RS_OK && max)
        return mem_view(r, max, recs);
    /* where v2_read_recs would take the decoders' next records first */
    if (r->state == RS_OK && max && !r->text && r->version == 2 &&
        r->dec.done == r->dec.nrec) {
        if (!r->par && r->decode_threads && !r->par_ended)
            v2_par_start(r);
        if (r->par) {
            long k = v2_par_view(r, recs, max, &r->failure);
            if (k > 0) {
                r->nrec += (uint64_t)k;
                keep_add(r, *recs, (size_t)k);
                return k;
            }
            *recs = buf;
            if (k < 0) {
                r->state = RS_FAILED;
                if (err)
                    *err = r->failure;
                return -1;
            }
        }
    }
    if (r->kept && r->state == RS_OK && max && r->nkept < r->kept_cap) {
        /* records kept: decoded straight into the copy, not copied (when
         * it is full, into buf: the end, or more records than the index
         * said, and then none are kept) */
        uint64_t room = r->kept_cap - r->nkept;
        *recs = r->kept + r->nkept;
        return iosim_trace_read(r, r->kept + r->nkept,
                                max < room ? max : (size_t)room, err);
    }
    return iosim_trace_read(r, buf, max, err);
}

uint64_t iosim_trace_record_line(const iosim_trace_reader_t *r, uint64_t record)
{
    return r->text ? trace_text_record_line(&r->txt, record) : 0;
}

void iosim_trace_progress(const iosim_trace_reader_t *r, uint64_t *done,
                          uint64_t *total)
{
    /* kept records: the share of them read, of the file's size */
    uint64_t d = r->mem ? (uint64_t)((double)r->file_size * (double)r->mem_pos /
                                     (double)r->nmem)
                 : r->text ? r->txt.bytes
                 : r->version == 2
                     ? r->off
                     : r->in_read - (uint64_t)(r->in.size - r->in.pos);
    if (done)
        *done = d;
    if (total)
        *total = r->file_size;
}

void iosim_trace_close(iosim_trace_reader_t *r)
{
    if (!r)
        return;
    v2_par_stop(r);
    trace_text_close(&r->txt);
    if (r->f)
        fclose(r->f);
    ZSTD_freeDStream(r->ds);
    ZSTD_freeDCtx(r->dctx);
    free(r->ibuf);
    free(r->obuf);
    free(r->cblk);
    free(r->pay);
    free(r->blocks);
    free(r->index);
    free(r->kept);
    free(r->mem);
    free(r->path);
    free(r);
}

/* ---- kept records (iosim_trace_keep, iosim_trace_reopen) -------------- */

bool iosim_trace_keep(iosim_trace_reader_t *r, size_t max_bytes)
{
    /* a v2 file at its start whose index says how many records it holds
     * (read with pread: the stream's position does not move) */
    iosim_err_t ignored;
    if (r->kept || r->mem || r->text || r->version != 2 || r->nrec ||
        r->state != RS_OK || r->par || v2_load_index(r, &ignored))
        return false;
    uint64_t total = 0;
    for (size_t j = 0; j < r->nindex; j++)
        total += r->index[j].nrec;
    if (total == 0 || total > max_bytes / sizeof(iosim_rec_t))
        return false;
    r->kept = slot_recs_alloc((size_t)total);
    r->kept_cap = total;
    r->nkept = 0;
    return r->kept != NULL;
}

iosim_trace_reader_t *iosim_trace_reopen(iosim_trace_reader_t *r,
                                         const char *path, iosim_err_t *err)
{
    /* every record kept, to the clean end: they move to the new reader */
    iosim_rec_t *recs = NULL;
    uint64_t n = 0;
    if (r->mem) {
        recs = r->mem;
        n = r->nmem;
    } else if (r->kept && r->state == RS_EOF && r->nkept == r->nrec) {
        recs = r->kept;
        n = r->nkept;
    }
    if (!recs)
        return iosim_trace_open(path ? path : r->path, err);
    iosim_trace_reader_t *m = calloc(1, sizeof *m);
    char *name = strdup(r->path);
    if (!m || !name) {
        free(m);
        free(name);
        iosim_err_set(err, "%s: out of memory", r->path);
        return NULL;
    }
    m->path = name;
    m->meta = r->meta;
    m->file_size = r->file_size;
    m->mem = recs;
    m->nmem = n;
    if (recs == r->mem)
        r->mem = NULL;
    else
        r->kept = NULL;
    return m;
}

unsigned trace_reader_version(const iosim_trace_reader_t *r)
{
    return r->text ? 0 : r->version;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */
struct iosim_trace_writer {
    char *path; /* final name (used in messages) */
    char *tmp;  /* NULL when writing to a caller's stream or directly */
    FILE *f;
    bool direct; /* path is a device, FIFO or link: f opened on it, no
                    temporary (renaming would replace the device) */
    bool text;
    bool failed;
    unsigned version; /* binary form: 1 or 2 */
    uint64_t nrec;
    /* v2 */
    ZSTD_CCtx *cctx; /* both versions */
    trace_v2_enc_t enc;
    uint8_t *pay;
    size_t pay_cap;
    uint64_t off; /* bytes written */
    trace_v2_entry_t *blocks;
    size_t nblocks, blocks_cap;
    /* v1 */
    uint8_t *rbuf; /* TRACE_ENCODE_RECS encoded records */
    uint8_t *cbuf;
    size_t ccap;
};

static void writer_free(iosim_trace_writer_t *w)
{
    ZSTD_freeCCtx(w->cctx);
    trace_v2_enc_free(&w->enc);
    free(w->pay);
    free(w->blocks);
    free(w->rbuf);
    free(w->cbuf);
    free(w->tmp);
    free(w->path);
    free(w);
}

static int write_out(iosim_trace_writer_t *w, const void *p, size_t n,
                     iosim_err_t *err)
{
    errno = 0;
    if (n && fwrite(p, 1, n, w->f) != n) {
        w->failed = true;
        return iosim_err_set(err, "%s: write failed: %s", w->path,
                             iosim_errno_str(errno ? errno : EIO));
    }
    w->off += n;
    return 0;
}

/* Feeds n bytes to the compressor, writing whatever it emits. */
static int zwrite(iosim_trace_writer_t *w, const void *src, size_t n,
                  iosim_err_t *err)
{
    ZSTD_inBuffer in = {src, n, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer out = {w->cbuf, w->ccap, 0};
        size_t ret = ZSTD_compressStream2(w->cctx, &out, &in, ZSTD_e_continue);
        if (ZSTD_isError(ret)) {
            w->failed = true;
            return iosim_err_set(err, "%s: zstd compression failed: %s",
                                 w->path, trace_zstd_why(ret));
        }
        if (write_out(w, w->cbuf, out.pos, err))
            return -1;
    }
    return 0;
}

/* The metadata block (FORMAT.md §3) into block[cap]; its length, or -1
 * with err set. */
static int meta_block(const iosim_trace_writer_t *w,
                      const iosim_trace_meta_t *meta, char *block, size_t cap,
                      iosim_err_t *err)
{
    size_t len = 0;
    for (unsigned i = 0; i < trace_meta_nkeys(meta); i++) {
        int k = trace_meta_format(meta, i, block + len, cap - len);
        if (k < 0 || (size_t)k + 1 >= cap - len)
            return iosim_err_set(err, "%s: metadata too long", w->path);
        len += (size_t)k;
        block[len++] = '\n';
    }
    return (int)len;
}

/* The compressor of both versions: a level and a content checksum, which
 * lets the reader detect corruption that still decodes (raw blocks), at
 * the cost of one xxhash64 pass (FORMAT.md §2, §8.2). */
static int make_cctx(iosim_trace_writer_t *w, int level, iosim_err_t *err)
{
    w->cctx = ZSTD_createCCtx();
    if (!w->cctx)
        return iosim_err_set(err, "%s: out of memory", w->path);
    size_t ret =
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(ret))
        ret = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(ret))
        return iosim_err_set(err, "%s: zstd: %s", w->path,
                             ZSTD_getErrorName(ret));
    return 0;
}

/* Format v2: the header frame (FORMAT.md §8.1). */
static int v2_begin(iosim_trace_writer_t *w, const iosim_trace_meta_t *meta,
                    iosim_err_t *err)
{
    /* fixed keys (< 512 B), up to 8 ref.* of < 80 B and 32 implies.* of
     * < 140 B */
    char block[6144];
    int len = meta_block(w, meta, block, sizeof block, err);
    if (len < 0)
        return -1;
    uint8_t hdr[8 + TRACE_V2_HEADER_FIXED];
    put_le(hdr, TRACE_V2_MAGIC_HEADER, 4);
    put_le(hdr + 4, TRACE_V2_HEADER_FIXED + (unsigned)len, 4);
    memcpy(hdr + 8, TRACE_MAGIC, 8);
    put_le(hdr + 16, 2, 4);
    put_le(hdr + 20, (unsigned)len, 4);
    if (write_out(w, hdr, sizeof hdr, err) ||
        write_out(w, block, (size_t)len, err))
        return -1;
    return 0;
}

/* Compresses and writes the block being built (FORMAT.md §8.2). */
static int v2_flush_block(iosim_trace_writer_t *w, iosim_err_t *err)
{
    trace_v2_enc_t *e = &w->enc;
    if (e->nrec == 0)
        return 0;
    size_t plen = trace_v2_enc_size(e);
    size_t bound = ZSTD_compressBound(plen);
    if (grow(&w->pay, &w->pay_cap, plen) || grow(&w->cbuf, &w->ccap, bound)) {
        w->failed = true;
        return iosim_err_set(err, "%s: out of memory", w->path);
    }
    trace_v2_enc_finish(e, w->pay);
    size_t clen = ZSTD_compress2(w->cctx, w->cbuf, w->ccap, w->pay, plen);
    if (ZSTD_isError(clen)) {
        w->failed = true;
        return iosim_err_set(err, "%s: zstd compression failed: %s", w->path,
                             trace_zstd_why(clen));
    }
    if (vec_reserve(&w->blocks, &w->blocks_cap, w->nblocks + 1, 64)) {
        w->failed = true;
        return iosim_err_set(err, "%s: out of memory", w->path);
    }
    w->blocks[w->nblocks++] =
        (trace_v2_entry_t){w->off, (uint32_t)clen, e->nrec};
    uint8_t hdr[8 + TRACE_V2_BLOCK_HDR];
    put_le(hdr, TRACE_V2_MAGIC_BLOCK, 4);
    put_le(hdr + 4, TRACE_V2_BLOCK_HDR, 4);
    put_le(hdr + 8, e->nrec, 4);
    put_le(hdr + 12, clen, 4);
    if (write_out(w, hdr, sizeof hdr, err) || write_out(w, w->cbuf, clen, err))
        return -1;
    trace_v2_enc_reset(e);
    return 0;
}

/* The index frame and footer (FORMAT.md §8.5). */
static int v2_end(iosim_trace_writer_t *w, iosim_err_t *err)
{
    if (v2_flush_block(w, err))
        return -1;
    uint8_t b[8 + 8];
    put_le(b, TRACE_V2_MAGIC_INDEX, 4);
    put_le(b + 4, 8 + TRACE_V2_INDEX_ENTRY * w->nblocks + TRACE_V2_FOOTER, 4);
    memcpy(b + 8, TRACE_V2_INDEX_MAGIC, 8);
    if (write_out(w, b, sizeof b, err))
        return -1;
    for (size_t i = 0; i < w->nblocks; i++) {
        uint8_t e[TRACE_V2_INDEX_ENTRY];
        put_le(e, w->blocks[i].offset, 8);
        put_le(e + 8, w->blocks[i].frame_len, 4);
        put_le(e + 12, w->blocks[i].nrec, 4);
        if (write_out(w, e, sizeof e, err))
            return -1;
    }
    uint8_t f[TRACE_V2_FOOTER];
    put_le(f, w->nrec, 8);
    put_le(f + 8, w->nblocks, 4);
    memcpy(f + 12, TRACE_V2_FOOTER_MAGIC, 4);
    return write_out(w, f, sizeof f, err);
}

static int bin_begin(iosim_trace_writer_t *w, const iosim_trace_meta_t *meta,
                     iosim_err_t *err)
{
    if (make_cctx(w, w->version == 2 ? TRACE_V2_ZSTD_LEVEL : TRACE_ZSTD_LEVEL,
                  err))
        return -1;
    if (w->version == 2)
        return v2_begin(w, meta, err);
    w->ccap = ZSTD_CStreamOutSize();
    w->cbuf = malloc(w->ccap);
    w->rbuf = malloc((size_t)TRACE_ENCODE_RECS * IOSIM_REC_DISK_SIZE);
    if (!w->cbuf || !w->rbuf)
        return iosim_err_set(err, "%s: out of memory", w->path);
    /* fixed keys (< 512 B), up to 8 ref.* of < 80 B and 32 implies.* of
     * < 140 B */
    char block[6144];
    int len = meta_block(w, meta, block, sizeof block, err);
    if (len < 0)
        return -1;
    uint8_t hdr[TRACE_HEADER_SIZE];
    memcpy(hdr, TRACE_MAGIC, 8);
    put_le(hdr + 8, 1, 4);
    put_le(hdr + 12, IOSIM_REC_DISK_SIZE, 4);
    put_le(hdr + 16, len, 4);
    if (zwrite(w, hdr, sizeof hdr, err) || zwrite(w, block, (size_t)len, err))
        return -1;
    return 0;
}

static iosim_trace_writer_t *
writer_new(const char *path, const iosim_trace_meta_t *meta, iosim_err_t *err)
{
    char why[160];
    if (meta && trace_meta_check(meta, why, sizeof why)) {
        iosim_err_set(err, "%s: %s", path, why);
        return NULL;
    }
    iosim_trace_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        iosim_err_set(err, "%s: out of memory", path);
        return NULL;
    }
    return w;
}

int iosim_trace_temp_name(const char *path, char *buf, size_t n)
{
    return snprintf(buf, n, "%s.tmp.%ld", path, (long)getpid());
}

/* The header of either form, on w->f. */
static int writer_begin(iosim_trace_writer_t *w, const iosim_trace_meta_t *meta,
                        iosim_err_t *err)
{
    if (!w->text)
        return bin_begin(w, meta, err);
    if (trace_text_write_header(w->f, meta))
        return iosim_err_set(err, "%s: write failed: %s", w->path,
                             iosim_errno_str(errno));
    return 0;
}

static iosim_trace_writer_t *create(const char *path,
                                    const iosim_trace_meta_t *meta, bool text,
                                    unsigned version, iosim_err_t *err)
{
    iosim_trace_meta_t empty;
    if (!meta) {
        memset(&empty, 0, sizeof empty);
        meta = &empty;
    }
    iosim_trace_writer_t *w = writer_new(path, meta, err);
    if (!w)
        return NULL;
    w->text = text;
    w->version = version;
    /* a device, FIFO or link is written through (core/outfile.h) */
    if (outfile_open(path, "wb", &w->tmp, &w->f, err)) {
        writer_free(w);
        return NULL;
    }
    w->direct = !w->tmp;
    if (writer_begin(w, meta, err)) {
        iosim_trace_abort(w);
        return NULL;
    }
    return w;
}

iosim_trace_writer_t *iosim_trace_create(const char *path,
                                         const iosim_trace_meta_t *meta,
                                         bool text, iosim_err_t *err)
{
    return create(path, meta, text, TRACE_VERSION_CURRENT, err);
}

iosim_trace_writer_t *trace_create_version(const char *path,
                                           const iosim_trace_meta_t *meta,
                                           unsigned version, iosim_err_t *err)
{
    if (version != 1 && version != 2) {
        iosim_err_set(err, "%s: no trace format version %u (1 or 2)", path,
                      version);
        return NULL;
    }
    return create(path, meta, false, version, err);
}

iosim_trace_writer_t *trace_writer_on_stream(FILE *f, const char *name,
                                             const iosim_trace_meta_t *meta,
                                             iosim_err_t *err)
{
    iosim_trace_meta_t empty;
    if (!meta) {
        memset(&empty, 0, sizeof empty);
        meta = &empty;
    }
    iosim_trace_writer_t *w = writer_new(name, meta, err);
    if (!w)
        return NULL;
    w->text = true;
    w->f = f;
    if (trace_text_write_header(f, meta)) {
        iosim_err_set(err, "%s: write failed: %s", name,
                      iosim_errno_str(errno));
        writer_free(w);
        return NULL;
    }
    return w;
}

int iosim_trace_write(iosim_trace_writer_t *w, const iosim_rec_t *recs,
                      size_t n, iosim_err_t *err)
{
    if (w->failed)
        return iosim_err_set(err, "%s: writer failed earlier", w->path);
    for (size_t i = 0; i < n; i++)
        if (!kind_valid(recs[i].kind))
            return iosim_err_set(err,
                                 "%s: record %" PRIu64 ": unknown kind "
                                 "%u",
                                 w->path, w->nrec + i, (unsigned)recs[i].kind);
    if (w->text) {
        char line[TRACE_TEXT_LINE_MAX];
        for (size_t i = 0; i < n; i++) {
            int k = iosim_rec_to_text(&recs[i], line, sizeof line - 1);
            if (k < 0) {
                w->failed = true;
                return iosim_err_set(err,
                                     "%s: record %" PRIu64 ": cannot "
                                     "format as text",
                                     w->path, w->nrec + i);
            }
            line[k] = '\n';
            if (write_out(w, line, (size_t)k + 1, err))
                return -1;
        }
    } else if (w->version == 2) {
        for (size_t i = 0; i < n; i++) {
            if (trace_v2_enc_add(&w->enc, &recs[i])) {
                w->failed = true;
                return iosim_err_set(err, "%s: out of memory", w->path);
            }
            if (w->enc.nrec == TRACE_V2_BLOCK_RECS && v2_flush_block(w, err))
                return -1;
        }
    } else {
        for (size_t i = 0; i < n;) {
            size_t k = n - i;
            if (k > TRACE_ENCODE_RECS)
                k = TRACE_ENCODE_RECS;
            for (size_t j = 0; j < k; j++)
                rec_encode(&recs[i + j], w->rbuf + j * IOSIM_REC_DISK_SIZE);
            if (zwrite(w, w->rbuf, k * IOSIM_REC_DISK_SIZE, err))
                return -1;
            i += k;
        }
    }
    w->nrec += n;
    return 0;
}

/* Finishes the trace and frees w, whatever the outcome; on failure the
 * temporary file is removed and path is left untouched. */
int iosim_trace_commit(iosim_trace_writer_t *w, iosim_err_t *err)
{
    int rc = 0;
    if (w->failed)
        rc = iosim_err_set(err, "%s: writer failed earlier", w->path);
    if (rc == 0 && !w->text && w->version == 2 && v2_end(w, err))
        rc = -1;
    while (rc == 0 && !w->text && w->version == 1) {
        ZSTD_outBuffer out = {w->cbuf, w->ccap, 0};
        ZSTD_inBuffer none = {NULL, 0, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &none, ZSTD_e_end);
        if (ZSTD_isError(left))
            rc = iosim_err_set(err, "%s: zstd: %s", w->path,
                               ZSTD_getErrorName(left));
        else if (write_out(w, w->cbuf, out.pos, err))
            rc = -1;
        else if (left == 0)
            break;
    }
    if (!w->tmp) { /* caller's stream, or a device written directly */
        if (rc == 0 && (fflush(w->f) != 0 || ferror(w->f)))
            rc = iosim_err_set(err, "%s: write failed: %s", w->path,
                               iosim_errno_str(errno ? errno : EIO));
        if (w->direct && fclose(w->f) != 0 && rc == 0)
            rc = iosim_err_set(err, "%s: write failed: %s", w->path,
                               iosim_errno_str(errno));
        writer_free(w);
        return rc;
    }
    errno = 0;
    bool bad = ferror(w->f) != 0;
    if (fclose(w->f) != 0)
        bad = true;
    w->f = NULL;
    if (rc == 0 && bad)
        rc = iosim_err_set(err, "%s: write failed: %s", w->path,
                           iosim_errno_str(errno ? errno : EIO));
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = iosim_err_set(err, "%s: cannot rename %s onto it: %s", w->path,
                           w->tmp, iosim_errno_str(errno));
    if (rc != 0)
        unlink(w->tmp);
    writer_free(w);
    return rc;
}

void iosim_trace_abort(iosim_trace_writer_t *w)
{
    if (!w)
        return;
    if (w->tmp) {
        if (w->f)
            fclose(w->f);
        unlink(w->tmp);
    } else if (w->direct && w->f) {
        fclose(w->f);
    }
    writer_free(w);
}
