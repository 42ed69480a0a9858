// Byte scans over StatsD lines, 16 bytes a step where the CPU has SSE2 (every x86-64), with
// a portable loop elsewhere. Header-only and static inline: Swift inlines them like its own
// code. Every function reads only inside p[0, len): near the end of the buffer it loads the
// 16 bytes that end at `to` instead of reading past it.
#pragma once

#include <stdint.h>

/// Inlined into every caller: LLVM otherwise keeps some as calls, and a call costs more than
/// a short scan.
#define TALLY_INLINE static inline __attribute__((always_inline))

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// A stop byte's index and the first mark before it (see tally_find_pair).
typedef struct {
    long stop;
    long mark;
} tally_pair;

#if defined(__SSE2__)
/// Bit k set for each byte k of the 16 at `p` equal to `c`'s lanes.
TALLY_INLINE unsigned tally_match16(const unsigned char *p, __m128i c) {
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), c));
}
#endif

/// The index of the first `c` in p[from, to), or `to` when there is none.
TALLY_INLINE long tally_find_byte(const void *buffer, long len, long from, long to, unsigned char c) {
    const unsigned char *p = (const unsigned char *)buffer;
    long i = from;
#if defined(__SSE2__)
    const __m128i pattern = _mm_set1_epi8((char)c);
    while (i + 16 <= to) {
        unsigned m = tally_match16(p + i, pattern);
        if (m) return i + __builtin_ctz(m);
        i += 16;
    }
    if (i >= to) return to;
    unsigned m;
    if (i + 16 <= len) {
        m = tally_match16(p + i, pattern) & ((1u << (to - i)) - 1);  // bytes past `to` do not count
    } else if (to >= 16) {
        m = tally_match16(p + to - 16, pattern) >> (16 - (to - i));  // bytes before `i` shifted out
    } else {
        for (; i < to; i++)
            if (p[i] == c) return i;
        return to;
    }
    return m ? i + __builtin_ctz(m) : to;
#else
    (void)len;
    for (; i < to; i++)
        if (p[i] == c) return i;
    return to;
#endif
}

/// The first `stop` in p[from, to) (or `to`), and the first `mark` before it (or the stop's
/// index when there is none): a tag `key:value,` is split and ended by one pass.
TALLY_INLINE tally_pair tally_find_pair(const void *buffer, long len, long from, long to, unsigned char stop,
                                         unsigned char mark) {
    const unsigned char *p = (const unsigned char *)buffer;
    long i = from;
    long m = -1;
#if defined(__SSE2__)
    const __m128i stops = _mm_set1_epi8((char)stop);
    const __m128i marks = _mm_set1_epi8((char)mark);
    while (i + 16 <= to) {
        unsigned ms = tally_match16(p + i, stops);
        if (m < 0) {
            unsigned mm = tally_match16(p + i, marks);
            if (mm) m = i + __builtin_ctz(mm);
        }
        if (ms) {
            long s = i + __builtin_ctz(ms);
            return (tally_pair){s, m >= 0 && m < s ? m : s};
        }
        i += 16;
    }
    if (i < to) {
        unsigned ms, mm;
        if (i + 16 <= len) {
            unsigned keep = (1u << (to - i)) - 1;
            ms = tally_match16(p + i, stops) & keep;
            mm = tally_match16(p + i, marks) & keep;
        } else if (to >= 16) {
            int shift = 16 - (int)(to - i);
            ms = tally_match16(p + to - 16, stops) >> shift;
            mm = tally_match16(p + to - 16, marks) >> shift;
        } else {
            for (; i < to; i++) {
                if (p[i] == stop) return (tally_pair){i, m >= 0 ? m : i};
                if (p[i] == mark && m < 0) m = i;
            }
            return (tally_pair){to, m >= 0 ? m : to};
        }
        long s = ms ? i + __builtin_ctz(ms) : to;
        if (m < 0 && mm) m = i + __builtin_ctz(mm);
        return (tally_pair){s, m >= 0 && m < s ? m : s};
    }
    return (tally_pair){to, m >= 0 ? m : to};
#else
    (void)len;
    for (; i < to; i++) {
        if (p[i] == stop) return (tally_pair){i, m >= 0 ? m : i};
        if (p[i] == mark && m < 0) m = i;
    }
    return (tally_pair){to, m >= 0 ? m : to};
#endif
}

/// 1 if p[0, len) (len >= 16) is all ASCII without a NUL byte; 0 means "look closer".
TALLY_INLINE int tally_plain_ascii16(const void *buffer, long len) {
    const unsigned char *p = (const unsigned char *)buffer;
#if defined(__SSE2__)
    __m128i any = _mm_setzero_si128();            // high bits: a byte >= 0x80
    __m128i low = _mm_set1_epi8((char)0xFF);      // unsigned minimum: 0 if there is a NUL
    long i = 0;
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        any = _mm_or_si128(any, v);
        low = _mm_min_epu8(low, v);
    }
    if (i < len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + len - 16));  // overlaps bytes already seen
        any = _mm_or_si128(any, v);
        low = _mm_min_epu8(low, v);
    }
    return _mm_movemask_epi8(any) == 0 && _mm_movemask_epi8(_mm_cmpeq_epi8(low, _mm_setzero_si128())) == 0;
#else
    for (long i = 0; i < len; i++)
        if (p[i] == 0 || p[i] >= 0x80) return 0;
    return 1;
#endif
}

/// How many bytes at the start of p[0, len) a StatsD name may hold ([A-Za-z0-9_.-]), 16 a
/// step; `*dot` becomes 1 if a '.' is among them. 0 means: scan them yourself (fewer than 16
/// bytes, or no SSE2).
TALLY_INLINE long tally_name_span16(const void *buffer, long len, int *dot) {
    const unsigned char *p = (const unsigned char *)buffer;
#if defined(__SSE2__)
    if (len < 16) return 0;
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i a = _mm_set1_epi8('a'), az = _mm_set1_epi8('z' - 'a');
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    const __m128i under = _mm_set1_epi8('_'), period = _mm_set1_epi8('.'), minus = _mm_set1_epi8('-');
    long i = 0;
    unsigned dots = 0;
    for (;;) {
        // The last step re-reads the 16 bytes that end the buffer; its bits before `i` are dropped.
        long at = i + 16 <= len ? i : len - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(p + at));
        // x in [lo, lo + span] as unsigned bytes: max(x - lo, span) == span.
        __m128i l = _mm_sub_epi8(_mm_or_si128(v, case_bit), a);
        __m128i d = _mm_sub_epi8(v, zero);
        __m128i ok = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(l, az), az), _mm_cmpeq_epi8(_mm_max_epu8(d, nine), nine));
        __m128i isdot = _mm_cmpeq_epi8(v, period);
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, under), _mm_or_si128(isdot, _mm_cmpeq_epi8(v, minus))));
        unsigned shift = (unsigned)(i - at);
        unsigned bad = (~(unsigned)_mm_movemask_epi8(ok) & 0xFFFFu) >> shift;
        unsigned dotbits = (unsigned)_mm_movemask_epi8(isdot) >> shift;
        if (bad) {
            int k = __builtin_ctz(bad);
            dots |= dotbits & ((1u << k) - 1);
            *dot = dots != 0;
            return i + k;
        }
        dots |= dotbits;
        i = at + 16;
        if (i >= len) {
            *dot = dots != 0;
            return len;
        }
    }
#else
    (void)p;
    (void)len;
    (void)dot;
    return 0;
#endif
}

/// Whether a[0, n) == b[0, n), 32 bytes a step with the last 16 overlapping: for the short
/// runs the line cache compares, a call to memcmp costs more than the compare. The differences
/// are OR-ed together and tested once at the end: the compares are nearly always equal (a line
/// cache hit), and a test and branch per step cost more than finishing a rare mismatch.
TALLY_INLINE int tally_bytes_equal(const void *a, const void *b, long n) {
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
#if defined(__SSE2__)
    if (n >= 16) {
        __m128i diff = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + n - 16)),
                                     _mm_loadu_si128((const __m128i *)(y + n - 16)));
        long i = 0;
        for (; i + 32 <= n; i += 32) {
            diff = _mm_or_si128(diff, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + i)),
                                                    _mm_loadu_si128((const __m128i *)(y + i))));
            diff = _mm_or_si128(diff, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + i + 16)),
                                                    _mm_loadu_si128((const __m128i *)(y + i + 16))));
        }
        if (i + 16 <= n)
            diff = _mm_or_si128(diff, _mm_xor_si128(_mm_loadu_si128((const __m128i *)(x + i)),
                                                    _mm_loadu_si128((const __m128i *)(y + i))));
        return _mm_movemask_epi8(_mm_cmpeq_epi8(diff, _mm_setzero_si128())) == 0xFFFF;
    }
    if (n >= 8) {
        unsigned long a0, b0, a1, b1;
        __builtin_memcpy(&a0, x, 8);
        __builtin_memcpy(&b0, y, 8);
        __builtin_memcpy(&a1, x + n - 8, 8);
        __builtin_memcpy(&b1, y + n - 8, 8);
        return a0 == b0 && a1 == b1;
    }
    for (long i = 0; i < n; i++)
        if (x[i] != y[i]) return 0;
    return 1;
#else
    return __builtin_memcmp(x, y, (unsigned long)n) == 0;
#endif
}
