#include <malloc.h>
#include "CHeap.h"

size_t tally_heap_in_use(void) {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
