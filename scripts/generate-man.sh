#!/usr/bin/env bash
# Regenerates the man pages docs/man/tallyd.8 and docs/man/tally.1 from the binaries' own help
# (swift-argument-parser's generate-manual, built from the checkout SwiftPM already has), then
# adds the sections --help has no place for (FILES, SEE ALSO). Run it after changing a flag or
# a help text and commit the result; Tests/integration/test_man_pages.py fails until you do.
#   scripts/generate-man.sh [BIN_DIR]   (default .build/release; make release first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release}
ap=.build/checkouts/swift-argument-parser
[ -d "$ap" ] || { echo "generate-man: $ap is missing: run make build first" >&2; exit 1; }
swift build -c release --package-path "$ap" --scratch-path .build/generate-manual --product generate-manual >/dev/null
gen=.build/generate-manual/release/generate-manual
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$bin/tallyd" --section 8 --date "$date" --authors "Tally developers<tally@example.org>" -o "$tmp"
"$gen" "$bin/tally" --section 1 --date "$date" --authors "Tally developers<tally@example.org>" -o "$tmp"
mkdir -p docs/man
# mdoc wants .Pp between paragraphs, not blank lines; the extra sections go before AUTHORS.
finish() { # page, extra sections file
  awk -v extra="$2" '
    /^$/ { print ".Pp"; next }
    /^\.Sh AUTHORS/ { while ((getline line < extra) > 0) print line }
    { print }' "$tmp/$1" > "docs/man/$1"
}
cat > "$tmp/tallyd.extra" <<'MAN'
.Sh FILES
.Bl -tag -width Ds
.It Pa /etc/tally/tallyd.yaml
The configuration the installed unit reads (a conffile: an edit survives an upgrade).
.Nm
.Fl -print-default-config
prints the shipped default.
.It Pa /lib/systemd/system/tally.service , Pa /lib/systemd/system/tally.socket
The units: socket activation, Type=notify, watchdog, a dynamic user.
.It Pa /var/lib/tally/state
The saved series (StateDirectory=tally), restored at start.
.It Pa /run/tally/ingest.sock
The Unix datagram ingest socket tally.socket holds.
.It Pa /usr/share/tally/
Prometheus rules and scrape config, Grafana dashboards, the default catalogue.
.El
.Sh SEE ALSO
.Xr tally 1 ,
.Xr systemd.socket 5 ,
.Xr prometheus 1 ;
.Pa /usr/share/doc/tally/README.md
MAN
cat > "$tmp/tally.extra" <<'MAN'
.Sh ENVIRONMENT
.Bl -tag -width Ds
.It Ev TALLY_ADDR
Where lines go: host:port (UDP), unix:/path, tcp:host:port; default 127.0.0.1:8125.
.It Ev TALLY_SERVICE
The service, when
.Fl -service
does not name one.
.It Ev TALLY_ADMIN
tallyd's admin endpoint for status and top; default 127.0.0.1:9102.
.El
.Sh SEE ALSO
.Xr tallyd 8
MAN
finish tallyd.8 "$tmp/tallyd.extra"
finish tally.1 "$tmp/tally.extra"
echo "generate-man: docs/man/tallyd.8 docs/man/tally.1"
