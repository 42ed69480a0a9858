#!/usr/bin/env bash
# make deb: builds .build/deb/tally_<version>_amd64.deb (and tally-dbgsym_<version>_amd64.deb,
# the stripped debug symbols) with Debian's own tools: debhelper runs debian/rules, which
# takes the release build (the Swift runtime linked in statically) and `make install-files`;
# dpkg-shlibdeps writes Depends: from the libraries the binaries load. The version is VERSION's;
# debian/changelog is written from it here (the changes themselves are in the git history).
# Then lintian checks the package (LINTIAN=0 skips it).
#   TALLY_VERSION=x.y.z DEB_OUT=dir scripts/build-deb.sh: the same package with another version
#   (binaries re-linked with it), as make test-package builds for its upgrade test.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${TALLY_VERSION:-$(tr -d '[:space:]' < VERSION)}
export TALLY_VERSION=$version
out=${DEB_OUT:-.build/deb}
export DEB_OUT=$out
# Reproducible: the files' times and the changelog's date are the last commit's.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || stat -c %Y VERSION)
fi
export SOURCE_DATE_EPOCH
{
  echo "tally ($version) unstable; urgency=medium"
  echo
  echo "  * Release $version. The changes are in the project's git history."
  echo
  echo " -- Tally developers <tally@example.org>  $(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} > debian/changelog
dpkg-checkbuilddeps
rm -rf "$out" debian/tally debian/.debhelper debian/tmp
mkdir -p "$out"
debian/rules binary
rm -rf debian/tally debian/.debhelper debian/tmp debian/files debian/*.substvars debian/*.debhelper.log debian/*.debhelper \
  debian/debhelper-build-stamp
ls -l "$out"/*.deb
# The working tree's version files back to VERSION's, if this build used another.
TALLY_VERSION= scripts/embed-version.sh
if [ "${LINTIAN:-1}" != 0 ]; then
  # Errors fail the build; the warnings we keep are explained in debian/tally.lintian-overrides.
  lintian --fail-on error,warning --info "$out/tally_${version}_amd64.deb"
fi
