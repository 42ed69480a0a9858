#ifndef CTALLYVERSION_H
#define CTALLYVERSION_H
// The version, from VERSION (scripts/embed-version.sh writes version.c). It lives in C so that
// a new version re-links the binaries instead of recompiling every Swift module that shows it.
const char *tally_version(void);
#endif
