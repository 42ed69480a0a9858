"""The man pages (docs/man, shipped in the package) against the binaries: every flag that
`--help` lists is in the page, and the page lists no flag the binary does not have.
Regenerate them with scripts/generate-man.sh after changing a flag."""
import os
import re
import subprocess

from tallykit import ROOT, TALLY, TALLYD

FLAG = re.compile(r"^\s{2,}((?:-[A-Za-z]|--[a-z][\w.-]*)(?:,\s*(?:-[A-Za-z]|--[a-z][\w.-]*))*)")


def help_flags(cmd):
    """The flags a help text lists in its OPTIONS section (`-t, --tag <x>`: both)."""
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    flags, in_options = set(), False
    for line in out.splitlines():
        if re.match(r"^[A-Z ]+:$", line):
            in_options = line == "OPTIONS:"
            continue
        m = FLAG.match(line) if in_options else None
        if m:
            flags.update(f.strip() for f in m.group(1).split(","))
    return flags


def subcommands():
    out = subprocess.run([TALLY, "--help"], capture_output=True, text=True, timeout=20).stdout
    section = out.split("SUBCOMMANDS:")[1]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]+)\s", section, re.M)]


def man_flags(page):
    with open(os.path.join(ROOT, "docs", "man", page)) as f:
        text = f.read()
    flags = set()
    for m in re.finditer(r"\bFl (\S+)(?: , (-\S+))?", text):
        flags.update("-" + f for f in m.groups() if f)
    return flags


def test_tallyd_8_lists_exactly_the_flags_of_tallyd_help():
    from_help = help_flags([TALLYD, "--help"])
    assert {"--config", "--check-config", "--state-file", "--version"} <= from_help
    assert man_flags("tallyd.8") == from_help


def test_tally_1_lists_exactly_the_flags_of_every_subcommand():
    subs = subcommands()
    assert {"send", "count", "load", "time", "status"} <= set(subs)
    from_help = help_flags([TALLY, "--help"])
    for sub in subs:
        flags = help_flags([TALLY, "help", sub])
        assert flags, sub
        from_help |= flags
    assert man_flags("tally.1") == from_help


def test_every_subcommand_has_its_section_in_tally_1():
    with open(os.path.join(ROOT, "docs", "man", "tally.1")) as f:
        text = f.read()
    for sub in subcommands():
        assert re.search(rf"^\.It Em {re.escape(sub)}$", text, re.M), sub
