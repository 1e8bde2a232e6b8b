/* reorder.c — records of one timestamp put back in a consistent order
 * (see reorder.h). */
#include "system/reorder.h"

#include <string.h>

/* Runs the held records that are ready (all: every one), each time from
 * the oldest, until none runs. */
static int release(reorder_t *q, bool all, reorder_ready_fn ready,
                   reorder_run_fn run, void *arg, iosim_err_t *err)
{
    bool progress = true;
    while (q->n && progress) {
        progress = false;
        for (size_t i = 0; i < q->n; i++) {
            if (!all && !ready(arg, &q->rec[i]))
                continue;
            iosim_rec_t r = q->rec[i];
            uint64_t no = q->no[i];
            memmove(&q->rec[i], &q->rec[i + 1], (q->n - i - 1) * sizeof r);
            memmove(&q->no[i], &q->no[i + 1], (q->n - i - 1) * sizeof no);
            q->n--;
            if (run(arg, &r, no, err))
                return -1;
            progress = true;
            break;
        }
    }
    return 0;
}

int reorder_take(reorder_t *q, const iosim_rec_t *r, uint64_t no,
                 reorder_ready_fn ready, reorder_run_fn run, void *arg,
                 iosim_err_t *err)
{
    if (q->n && r->t != q->rec[0].t && release(q, true, ready, run, arg, err))
        return -1;
    if ((r->kind == IOSIM_REC_MAP || r->kind == IOSIM_REC_UNMAP) &&
        q->n < REORDER_MAX && !ready(arg, r)) {
        q->no[q->n] = no;
        q->rec[q->n++] = *r;
        return 0;
    }
    if (run(arg, r, no, err))
        return -1;
    if (q->n && release(q, false, ready, run, arg, err))
        return -1;
    return 0;
}

int reorder_flush(reorder_t *q, reorder_run_fn run, void *arg, iosim_err_t *err)
{
    return release(q, true, NULL, run, arg, err);
}
