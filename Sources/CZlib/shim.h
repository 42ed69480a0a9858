// zlib's deflate, for gzip-compressed scrapes (Debian's zlib1g-dev). Only TallyServer's
// `Gzip` type uses it.
#include <zlib.h>
