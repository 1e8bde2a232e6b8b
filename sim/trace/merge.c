/* merge.c — k-way merge of time-ordered record streams: an indexed binary
 * heap ordered by (time of the stream's next record, stream index).  See
 * merge.h for the tie rule. */
#include "trace/merge.h"

#include <stdlib.h>

#define NO_SLOT SIZE_MAX

int trace_merge_init(trace_merge_t *m, size_t streams)
{
    m->heap = calloc(streams ? streams : 1, sizeof *m->heap);
    m->slot = calloc(streams ? streams : 1, sizeof *m->slot);
    m->key = calloc(streams ? streams : 1, sizeof *m->key);
    m->n = 0;
    m->streams = streams;
    if (!m->heap || !m->slot || !m->key) {
        trace_merge_free(m);
        return -1;
    }
    for (size_t s = 0; s < streams; s++)
        m->slot[s] = NO_SLOT;
    return 0;
}

void trace_merge_free(trace_merge_t *m)
{
    free(m->heap);
    free(m->slot);
    free(m->key);
    m->heap = m->slot = NULL;
    m->key = NULL;
    m->n = m->streams = 0;
}

/* The tie rule: equal times go to the lower stream index. */
static bool before(const trace_merge_t *m, size_t a, size_t b)
{
    return m->key[a] < m->key[b] || (m->key[a] == m->key[b] && a < b);
}

static void place(trace_merge_t *m, size_t i, size_t s)
{
    m->heap[i] = s;
    m->slot[s] = i;
}

static void sift_up(trace_merge_t *m, size_t i)
{
    size_t s = m->heap[i];
    while (i > 0 && before(m, s, m->heap[(i - 1) / 2])) {
        place(m, i, m->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(m, i, s);
}

static void sift_down(trace_merge_t *m, size_t i)
{
    size_t s = m->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, c = i;
        size_t best = s;
        if (l < m->n && before(m, m->heap[l], best)) {
            c = l;
            best = m->heap[l];
        }
        if (r < m->n && before(m, m->heap[r], best))
            c = r;
        if (c == i)
            break;
        place(m, i, m->heap[c]);
        i = c;
    }
    place(m, i, s);
}

void trace_merge_set(trace_merge_t *m, size_t s, uint64_t t)
{
    if (m->slot[s] == NO_SLOT) {
        m->key[s] = t;
        place(m, m->n++, s);
        sift_up(m, m->n - 1);
        return;
    }
    bool earlier = t < m->key[s];
    m->key[s] = t;
    if (earlier)
        sift_up(m, m->slot[s]);
    else
        sift_down(m, m->slot[s]);
}

void trace_merge_remove(trace_merge_t *m, size_t s)
{
    size_t i = m->slot[s];
    if (i == NO_SLOT)
        return;
    m->slot[s] = NO_SLOT;
    size_t last = m->heap[--m->n];
    if (i == m->n)
        return;
    /* the last stream fills the hole and moves whichever way it must */
    place(m, i, last);
    sift_up(m, i);
    sift_down(m, m->slot[last]);
}

bool trace_merge_peek(const trace_merge_t *m, size_t *s, uint64_t *t)
{
    if (!m->n)
        return false;
    *s = m->heap[0];
    *t = m->key[m->heap[0]];
    return true;
}
