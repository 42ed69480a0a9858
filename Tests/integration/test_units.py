"""The shipped systemd units, checked by systemd's own tools after a real `make install`."""
import os
import re
import shutil
import subprocess

import pytest
from tallykit import ROOT, TALLYD

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze (Debian package systemd) is not installed")


@pytest.fixture
def installed(tmp_path):
    prefix = tmp_path / "usr"
    etc = tmp_path / "etc"
    subprocess.run(["make", "--no-print-directory", "-C", ROOT, "install-files", f"BIN={TALLYD}",
                    f"PREFIX={prefix}", f"SYSCONFDIR={etc}"], check=True, capture_output=True, timeout=60)
    return {"prefix": prefix, "etc": etc, "units": prefix / "lib" / "systemd" / "system"}


def analyze(*args):
    p = subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_make_install_puts_binary_units_and_config_in_place(installed):
    units = installed["units"]
    for path in [installed["prefix"] / "bin" / "tallyd", installed["prefix"] / "bin" / "tally", units / "tally.service", units / "tally.socket",
                 units / "tally.socket.d" / "ports.conf.example", units / "tally.service.d" / "web.conf.example",
                 units / "tally.service.d" / "peer-identity.conf.example", installed["etc"] / "tally" / "tallyd.yaml",
                 installed["prefix"] / "share" / "man" / "man8" / "tallyd.8",
                 installed["prefix"] / "share" / "man" / "man1" / "tally.1"]:
        assert path.exists(), path
    service = (units / "tally.service").read_text()
    assert f"ExecStart={installed['prefix']}/bin/tallyd --config {installed['etc']}/tally/tallyd.yaml" in service
    # The installed binary accepts the installed config.
    p = subprocess.run([str(installed["prefix"] / "bin" / "tallyd"), "--check-config",
                        str(installed["etc"] / "tally" / "tallyd.yaml")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


def test_systemd_analyze_verify_is_clean(installed, tmp_path):
    units = installed["units"]
    # --man=no: the pages Documentation= names are installed under the test's prefix, where the
    # host's man cannot see them (make test-package checks them with man, in a Debian root).
    rc, out = analyze("verify", "--man=no", str(units / "tally.service"), str(units / "tally.socket"))
    assert rc == 0 and out == "", out
    # The check can fail: a misspelt key is reported.
    bad = tmp_path / "bad.service"
    bad.write_text((units / "tally.service").read_text().replace("NoNewPrivileges=", "NoNewPrivilegs="))
    rc, out = analyze("verify", "--man=no", str(bad))
    assert "Unknown key" in out, out


def test_security_exposure_is_at_most_2(installed):
    rc, out = analyze("security", "--offline=yes", str(installed["units"] / "tally.service"))
    m = re.search(r"Overall exposure level for tally\.service: (\d+\.\d+)", out)
    assert m, out
    assert float(m.group(1)) <= 2.0, out


@pytest.mark.parametrize("dropin", ["web", "peer-identity"])
def test_the_shipped_drop_ins_keep_the_unit_valid_and_exposure_at_most_2(installed, tmp_path, dropin):
    """The drop-in merged into the unit (later settings win, as systemd applies them)."""
    units = installed["units"]
    conf = (units / "tally.service.d" / f"{dropin}.conf.example").read_text()
    merged = tmp_path / "tally.service"
    merged.write_text((units / "tally.service").read_text().replace("[Install]", conf + "\n[Install]", 1))
    rc, out = analyze("security", "--offline=yes", str(merged))
    m = re.search(r"Overall exposure level for tally\.service: (\d+\.\d+)", out)
    assert m, out
    assert float(m.group(1)) <= 2.0, out
    if dropin == "web":
        assert "LoadCredential=web.yml:" in conf and "--web.config.file %d/web.yml" in conf


def test_units_agree_with_the_default_config_ports():
    """tally.socket hands tallyd sockets matched by port: they must be the config's ports."""
    import yaml
    with open(os.path.join(ROOT, "config", "tallyd.yaml")) as f:
        cfg = yaml.safe_load(f)
    with open(os.path.join(ROOT, "systemd", "tally.socket")) as f:
        socket_unit = f.read()
    streams = {int(p) for p in re.findall(r"^ListenStream=127\.0\.0\.1:(\d+)$", socket_unit, re.M)}
    datagrams = {int(p) for p in re.findall(r"^ListenDatagram=127\.0\.0\.1:(\d+)$", socket_unit, re.M)}
    service_ports = {s["port"] for s in cfg["services"].values()}
    assert service_ports <= streams
    assert cfg["admin"]["port"] in streams
    assert {int(a.rsplit(":", 1)[1]) for a in cfg["ingest"]["udp"]} == datagrams
    assert {int(a.rsplit(":", 1)[1]) for a in cfg["ingest"]["tcp"]} <= streams
    assert streams == service_ports | {cfg["admin"]["port"]} | {int(a.rsplit(":", 1)[1]) for a in cfg["ingest"]["tcp"]}


def test_make_uninstall_removes_what_install_put_there_but_the_config(installed):
    subprocess.run(["make", "--no-print-directory", "-C", ROOT, "uninstall", f"PREFIX={installed['prefix']}",
                    f"SYSCONFDIR={installed['etc']}"], check=True, capture_output=True, timeout=60)
    assert not (installed["prefix"] / "bin" / "tallyd").exists()
    assert not (installed["prefix"] / "bin" / "tally").exists()
    assert not (installed["units"] / "tally.service").exists()
    assert not (installed["units"] / "tally.service.d").exists()
    assert not (installed["prefix"] / "share" / "man" / "man8" / "tallyd.8").exists()
    assert (installed["etc"] / "tally" / "tallyd.yaml").exists()
