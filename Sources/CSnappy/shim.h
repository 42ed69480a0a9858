// Snappy's C API (Debian's libsnappy-dev): the block format remote write's bodies use. Only
// TallyServer's `Snappy` type uses it.
#include <snappy-c.h>
