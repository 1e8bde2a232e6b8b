/* stats.c — counter and derived-metric tables generated from
 * stat_list.h, and lookups by name. */
#include <string.h>

#include "core/sim.h"

static const char *const stat_names[] = {
#define X(id, name, desc) name,
    IOSIM_ALL_STATS(X)
#undef X
};
static const char *const stat_descs[] = {
#define X(id, name, desc) desc,
    IOSIM_ALL_STATS(X)
#undef X
};

typedef struct derived_def {
    const char *name, *desc;
    enum iosim_stat_id num, den;
    double scale;
} derived_def_t;

static const derived_def_t derived_defs[] = {
#define D(id, name, num, den, scale, desc)                                      \
    {name, desc, IOSIM_ST_##num, IOSIM_ST_##den, scale},
    IOSIM_DERIVED(D)
#undef D
};

size_t iosim_stat_count(void) { return IOSIM_ST_COUNT; }
const char *iosim_stat_name(size_t i)
{
    return i < IOSIM_ST_COUNT ? stat_names[i] : NULL;
}
const char *iosim_stat_desc(size_t i)
{
    return i < IOSIM_ST_COUNT ? stat_descs[i] : NULL;
}
uint64_t iosim_sim_stat(const iosim_sim_t *s, size_t i)
{
    return i < IOSIM_ST_COUNT ? s->st[i] : 0;
}

bool iosim_sim_stat_by_name(const iosim_sim_t *s, const char *name,
                            uint64_t *value)
{
    for (size_t i = 0; i < IOSIM_ST_COUNT; i++)
        if (!strcmp(stat_names[i], name)) {
            *value = s->st[i];
            return true;
        }
    return false;
}

size_t iosim_derived_count(void) { return IOSIM_DV_COUNT; }
const char *iosim_derived_name(size_t i)
{
    return i < IOSIM_DV_COUNT ? derived_defs[i].name : NULL;
}
const char *iosim_derived_desc(size_t i)
{
    return i < IOSIM_DV_COUNT ? derived_defs[i].desc : NULL;
}

bool iosim_sim_derived(const iosim_sim_t *s, size_t i, double *value)
{
    if (i >= IOSIM_DV_COUNT)
        return false;
    const derived_def_t *d = &derived_defs[i];
    uint64_t den = s->st[d->den];
    if (den == 0)
        return false; /* printed as null, never NaN */
    *value = d->scale * (double)s->st[d->num] / (double)den;
    return true;
}

bool iosim_sim_derived_by_name(const iosim_sim_t *s, const char *name,
                               double *value)
{
    for (size_t i = 0; i < IOSIM_DV_COUNT; i++)
        if (!strcmp(derived_defs[i].name, name))
            return iosim_sim_derived(s, i, value);
    return false;
}
