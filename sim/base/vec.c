/* vec.c — the growth step of vec.h's arrays (the concepts are there). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

size_t vec_next_cap(size_t cap, size_t need, size_t elem, size_t first)
{
    if (elem == 0 || need > SIZE_MAX / elem)
        return 0;
    size_t c = cap ? cap : first;
    if (c == 0)
        c = 1;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : 2 * c;
    /* doubling may pass what fits; need itself fits */
    return c > SIZE_MAX / elem ? need : c;
}

int vec_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = vec_next_cap(*cap, need, elem, first);
    if (c == 0) {
        errno = ENOMEM;
        return -1;
    }
    void *old;
    memcpy(&old, pp, sizeof old);
    void *p = realloc(old, c * elem);
    if (!p)
        return -1;
    memcpy(pp, &p, sizeof p);
    *cap = c;
    return 0;
}

int vec_ring_grow_elem(void *pp, size_t *cap, size_t *head, size_t count,
                       size_t elem, size_t first)
{
    size_t c =
        count < SIZE_MAX ? vec_next_cap(*cap, count + 1, elem, first) : 0;
    if (c == 0) {
        errno = ENOMEM;
        return -1;
    }
    unsigned char *p = malloc(c * elem), *old;
    if (!p)
        return -1;
    memcpy(&old, pp, sizeof old);
    if (count) { /* [head, end) then the part that wrapped to the start */
        size_t h = *head % *cap, run = *cap - h < count ? *cap - h : count;
        memcpy(p, old + h * elem, run * elem);
        memcpy(p + run * elem, old, (count - run) * elem);
    }
    free(old);
    memcpy(pp, &p, sizeof p);
    *cap = c;
    *head = 0;
    return 0;
}
