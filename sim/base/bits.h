/* bits.h — the kernel's bit helpers that iosim's models of Linux code use.
 *
 * Concepts: fls64(x) = 1-based index of the highest set bit (0 for 0);
 *   order_base_2(n) = ceil(log2(n)), 0 for n <= 1 (include/linux/log2.h),
 *   as the IOVA allocator (rcache size classes) and mlx5 (ring sizes)
 *   use it.
 * Assumptions: GCC / Clang builtins.
 * Not modeled: nothing; pure arithmetic.
 */
#ifndef IOSIM_BITS_H
#define IOSIM_BITS_H

#include <stdint.h>

static inline unsigned fls64(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

static inline unsigned order_base_2(uint64_t n)
{
    return n <= 1 ? 0 : fls64(n - 1);
}

#endif /* IOSIM_BITS_H */
