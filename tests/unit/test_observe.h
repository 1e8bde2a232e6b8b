/* test_observe.h — the invalidation submissions a sim makes, recorded by
 * an observer (sim_observe_submits) for model tests.
 * Concepts: every descriptor in order, with the index of the submission
 *   (qi_submit_sync) that carried it.
 * Assumptions: at most SEEN_MAX descriptors per test (more are dropped,
 *   submissions still counted).  Not modeled: nothing. */
#ifndef IOSIM_TEST_OBSERVE_H
#define IOSIM_TEST_OBSERVE_H

#include "system/services.h"
#include "test_util.h"

#define SEEN_MAX 64
typedef struct seen {
    vtd_desc_t d[SEEN_MAX];
    size_t batch_of[SEEN_MAX]; /* submission index of each descriptor */
    size_t n, batches;
} seen_t;

static TEST_UNUSED void observe(void *arg, const vtd_desc_t *d, size_t n)
{
    seen_t *s = arg;
    for (size_t i = 0; i < n && s->n < SEEN_MAX; i++) {
        s->batch_of[s->n] = s->batches;
        s->d[s->n++] = d[i];
    }
    s->batches++;
}

#endif
