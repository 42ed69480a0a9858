// CPU hints Swift has no spelling for. Header-only: every function is static inline, so a
// call compiles to the one instruction.
#pragma once

/// Asks the CPU to start loading the cache line at `p` for reading. It never faults, so `p`
/// may point anywhere; a wrong guess only costs a little memory bandwidth.
static inline void tally_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
