#pragma once
#include <stddef.h>
/// Heap bytes in use per glibc's mallinfo2: small blocks plus mmapped large ones.
size_t tally_heap_in_use(void);
