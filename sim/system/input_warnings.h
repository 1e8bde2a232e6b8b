/* input_warnings.h — what is suspicious in a trace but still replayable,
 * declared once (X-macro): counted over the whole trace, printed in the
 * report's [warnings] block (text: only when one is non-zero; JSON and
 * CSV: always), refused with --strict-input (iosim_sim_set_strict_input).
 *
 * Concepts: X(ID, name, description).
 * Assumptions: the trace's own view (sim.h `live`) decides what is mapped.
 * Not modeled: nothing.
 */
#ifndef IOSIM_INPUT_WARNINGS_H
#define IOSIM_INPUT_WARNINGS_H

// clang-format off
#define IOSIM_INPUT_WARNINGS(X)                                              \
    X(STRAY_UNMAP, "input.stray_unmaps",                                     \
      "UNMAP records of IOVAs the trace had not mapped (mapped before the "  \
      "trace began, or a lossy trace)")                                      \
    X(DMA_UNMAPPED, "input.dma_unmapped",                                    \
      "DMA records to IOVAs the trace had not mapped")                       \
    X(TIME_BACKWARDS, "input.time_backwards",                                \
      "records earlier than the record before them")                        \
    X(WRAPPED, "input.wrapped",                                              \
      "MAP, UNMAP or DMA records whose range runs past the top of the "      \
      "64-bit IOVA space")
// clang-format on

enum sim_input_warning {
#define IOSIM_WARN_ENUM(id, name, desc) SIM_WARN_##id,
    IOSIM_INPUT_WARNINGS(IOSIM_WARN_ENUM)
#undef IOSIM_WARN_ENUM
        SIM_WARN_COUNT
};

#endif
