// SwiftPM builds a C target from at least one source file; the functions are in the header.
#include "CTallyCPU.h"
