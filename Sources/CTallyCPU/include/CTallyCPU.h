// What Swift has no spelling for: a cache prefetch, and (CTallyScan.h) SSE2 byte scans.
// Header-only: every function is static inline, so Swift inlines it like its own code.
#pragma once

/// Asks the CPU to start loading the cache line at `p` for reading. It never faults, so `p`
/// may point anywhere; a wrong guess only costs a little memory bandwidth.
static inline void tally_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#include "CTallyScan.h"
