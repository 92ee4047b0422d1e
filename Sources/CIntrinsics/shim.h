// Compiler intrinsics Swift cannot name: a software prefetch (used by CarinaTiles' LinePrefetch). No logic
// lives here.
#ifndef CARINA_INTRINSICS_H
#define CARINA_INTRINSICS_H

/// Asks for the 64-byte line holding `p` to be brought into the caches for reading (prefetcht0); never
/// faults, changes no value.
static inline void carina_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
