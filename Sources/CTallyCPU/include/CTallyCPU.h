// What Swift has no spelling for: a cache prefetch, and (CTallyScan.h) SSE2 byte scans.
// Header-only: every function is static inline, so Swift inlines it like its own code.
#pragma once

/// Asks the CPU to start loading the cache line at `p` for reading. It never faults, so `p`
/// may point anywhere; a wrong guess only costs a little memory bandwidth.
static inline void tally_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#include "CTallyScan.h"

/// A word read and written by several threads without a lock, for hints only (a value that is
/// stale or torn is never dereferenced): relaxed atomics, which Swift's Atomic cannot put in
/// an array.
static inline unsigned long tally_load_relaxed(const unsigned long *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void tally_store_relaxed(unsigned long *p, unsigned long v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
