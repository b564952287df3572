// Finding the few bytes that matter in a run of text, 16 bytes at a time.
//
// The frame decoder and the JSON writer spend nearly all their time walking message
// text looking for quotes, backslashes and braces. Comparing 16 bytes per instruction
// with SSE2 (part of every x86-64 CPU) instead of one per loop iteration made the
// decoder about 4x cheaper on 64-byte messages (BENCHMARKS.md). Other architectures use
// the plain loop, which gives the same answers.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace classchat::protocol {

// The first byte in [p, end) equal to `a`, `b` or `c`, or `end` if there is none.
inline const char* findAnyOf(const char* p, const char* end, char a, char b, char c) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const __m128i vc = _mm_set1_epi8(c);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                                      _mm_cmpeq_epi8(v, vc));
    if (const int mask = _mm_movemask_epi8(hits)) return p + __builtin_ctz(mask);
  }
#endif
  for (; p < end; ++p) {
    if (*p == a || *p == b || *p == c) return p;
  }
  return end;
}

// The first byte in [p, end) that a JSON string must escape ('"', '\\' or a control
// below 0x20), or `end`.
inline const char* findJsonEscape(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i maxControl = _mm_set1_epi8(0x1F);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= 0x1F exactly when min(v, 0x1F) == v.
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, maxControl), v);
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
    if (const int mask = _mm_movemask_epi8(hits)) return p + __builtin_ctz(mask);
  }
#endif
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == '"' || c == '\\') return p;
  }
  return end;
}

}  // namespace classchat::protocol
