/* sparse16.c — see sparse16.h. */
#include "base/sparse16.h"

#include <stdlib.h>

int sparse16_set(sparse16_t *t, uint16_t id, uintptr_t value)
{
    uintptr_t **b = &t->block[id >> 8];
    if (!*b) {
        if (!value)
            return 0; /* storing "absent" into an absent block */
        *b = calloc(256, sizeof **b);
        if (!*b)
            return -1;
    }
    (*b)[id & 0xffu] = value;
    return 0;
}

bool sparse16_next(const sparse16_t *t, uint32_t *cursor, uint16_t *id,
                   uintptr_t *value)
{
    while (*cursor < 65536u) {
        const uintptr_t *b = t->block[*cursor >> 8];
        if (!b) {
            *cursor = (*cursor | 0xffu) + 1;
            continue;
        }
        uint32_t k = (*cursor)++;
        if (b[k & 0xffu]) {
            *id = (uint16_t)k;
            *value = b[k & 0xffu];
            return true;
        }
    }
    return false;
}

void sparse16_fini(sparse16_t *t)
{
    for (size_t i = 0; i < 256; i++) {
        free(t->block[i]);
        t->block[i] = NULL;
    }
}
