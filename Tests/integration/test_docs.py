"""The documentation against the code: every config key the parser accepts is in
docs/configuration.md (the web config's in docs/security.md), every relative link in the README
and docs/ resolves, and the README stays a front door."""
import os
import re

from tallykit import ROOT

CONFIG_SOURCES = ["Sources/TallyServer/Config/TallyConfig.swift", "Sources/TallyServer/Config/RemoteWriteEndpoint.swift"]
WEB_SOURCES = ["Sources/TallyServer/Web/WebConfig.swift"]
# String lists the parser accepts keys from: `mapping(allowed: [...])`, `topLevelKeys`, `keys`.
ALLOWED = re.compile(r"(?:mapping\(allowed:|static let (?:topLevelKeys|keys) =)\s*\[([^\]]*)\]", re.S)


def read(relative):
    with open(os.path.join(ROOT, relative)) as f:
        return f.read()


def accepted_keys(sources):
    keys = set()
    for source in sources:
        for m in ALLOWED.finditer(read(source)):
            keys.update(re.findall(r'"([a-z_0-9]+)"', m.group(1)))
    return keys


def code_text(markdown):
    """What a doc shows as code: `spans` and fenced blocks, where keys are written."""
    blocks = re.findall(r"```.*?```", markdown, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", markdown, flags=re.S))
    return "\n".join(blocks + spans)


def test_every_config_key_the_parser_accepts_is_in_the_configuration_reference():
    keys = accepted_keys(CONFIG_SOURCES)
    # The scan finds the lists it should: the top level, ingest, limits, remote_write.
    assert {"ingest", "limits", "remote_write", "udp_receive_buffer", "set_max_values", "bearer_token_file",
            "capacity_intervals", "drop_labels", "identity"} <= keys, keys
    doc = code_text(read("docs/configuration.md"))
    missing = sorted(k for k in keys if not re.search(rf"(?<![a-z_]){k}(?![a-z_])", doc))
    assert missing == [], f"keys the parser accepts but docs/configuration.md does not show: {missing}"


def test_every_web_config_key_is_in_the_security_page():
    keys = accepted_keys(WEB_SOURCES)
    assert {"tls_server_config", "basic_auth_users", "cert_file"} <= keys, keys
    doc = code_text(read("docs/security.md"))
    missing = sorted(k for k in keys if not re.search(rf"(?<![a-z_]){k}(?![a-z_])", doc))
    assert missing == [], f"web config keys docs/security.md does not show: {missing}"


def markdown_files():
    files = ["README.md", "clients/python/README.md", "systemd/README.md"]
    files += [os.path.join("docs", f) for f in sorted(os.listdir(os.path.join(ROOT, "docs"))) if f.endswith(".md")]
    return files


def test_every_relative_link_in_the_readme_and_docs_resolves():
    broken = []
    for md in markdown_files():
        text = re.sub(r"```.*?```", "", read(md), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(md), target.split("#")[0]))
            if not os.path.exists(path):
                broken.append(f"{md}: {target}")
    assert broken == []
    assert len(markdown_files()) >= 12


def test_the_readme_is_a_front_door():
    readme = read("README.md")
    lines = readme.splitlines()
    assert len(lines) <= 200, len(lines)
    first_screen = "\n".join(lines[:30])
    assert "make run" in first_screen and "make test" in first_screen
    for page in ["sending", "protocol", "configuration", "operations", "prometheus-grafana", "systemd", "security",
                 "performance", "scaling", "architecture", "packaging"]:
        assert f"(docs/{page}.md)" in readme, page
