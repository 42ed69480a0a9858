"""The Debian package, installed as an operator would: in a clean Debian 12 root with no Swift.

`make test-package` builds .build/deb/tally_<version>_amd64.deb (and, for the upgrade, the same
package with the next version in .build/deb-next), then runs this. The root is
`mmdebstrap --variant=minbase bookworm`, made once and cached as .build/debroot/*.tar; each test
unpacks a fresh copy. Commands in the root run under `unshare` with a network namespace of
their own where tallyd listens (so its documented ports are free by construction and traffic
stays on that namespace's loopback), and with the host's network only where apt fetches
packages.
"""
import glob
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
DEB_DIR = os.environ.get("TALLY_DEB_DIR", os.path.join(ROOT, ".build", "deb"))
NEXT_DIR = os.environ.get("TALLY_NEXT_DEB_DIR", os.path.join(ROOT, ".build", "deb-next"))
CACHE = os.path.join(ROOT, ".build", "debroot", "bookworm-minbase.tar")
SOURCES = "/etc/apt/sources.list.d/debian.sources"

if os.geteuid() != 0:
    pytest.skip("the package tests need root (chroot, mount namespaces)", allow_module_level=True)
for tool in ("mmdebstrap", "unshare", "chroot", "ip"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed: run scripts/install-deps.sh deb", allow_module_level=True)


def deb(directory, name="tally"):
    found = sorted(glob.glob(os.path.join(directory, f"{name}_*_amd64.deb")))
    if not found:
        pytest.fail(f"no {name}_*_amd64.deb in {directory}: run `make test-package` (it builds them)")
    return found[-1]


def run(cmd, timeout=300, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd!r} exited {p.returncode}\nstdout:\n{p.stdout[-4000:]}\nstderr:\n{p.stderr[-4000:]}")
    return p


@pytest.fixture(scope="session")
def pristine():
    """The clean root's tarball, made on first use (about 30 s and 190 MB with Debian's mirror)."""
    if not os.path.exists(CACHE):
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        partial = CACHE + ".partial"
        run(["mmdebstrap", "--variant=minbase", "--format=tar", "--skip=cleanup/apt/lists", "bookworm", partial,
             SOURCES], timeout=900)
        os.rename(partial, CACHE)
    return CACHE


class Root:
    """A fresh copy of the clean root, with the packages copied into /tmp/pkg."""

    def __init__(self, tarball):
        self.path = tempfile.mkdtemp(prefix="tally-debroot-", dir=os.path.join(ROOT, ".build"))
        with tarfile.open(tarball) as t:
            t.extractall(self.path, numeric_owner=True)
        shutil.copy("/etc/resolv.conf", os.path.join(self.path, "etc", "resolv.conf"))
        os.makedirs(os.path.join(self.path, "tmp", "pkg"), exist_ok=True)

    def add(self, deb_path):
        shutil.copy(deb_path, os.path.join(self.path, "tmp", "pkg"))
        return "/tmp/pkg/" + os.path.basename(deb_path)

    def sh(self, script, net=True, timeout=300, check=True):
        """`script` in the root (chroot) as root, /proc mounted; net=False: a network namespace of
        its own with only loopback up."""
        inner = (f"mount -t proc proc {self.path}/proc && "
                 + ("" if net else "ip link set lo up && ")
                 + f"exec chroot {self.path} /bin/sh -ec \"$0\"")
        flags = ["--mount", "--pid", "--fork"] + ([] if net else ["--net"])
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        return run(["unshare", *flags, "/bin/sh", "-ec", inner, script], timeout=timeout, check=check, env=env)

    def apt_install(self, *what):
        return self.sh(f"apt-get install -y -q --no-install-recommends {' '.join(what)}", timeout=600)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def root(pristine):
    r = Root(pristine)
    yield r
    r.remove()


@pytest.fixture(scope="module")
def installed(pristine):
    """One root with the package installed from the .deb alone (apt resolves Depends:)."""
    r = Root(pristine)
    r.sh("apt-get update -q", timeout=600)
    assert r.sh("ls /opt/swift /usr/lib/swift 2>/dev/null || true").stdout.strip() == "", "the clean root has Swift"
    out = r.apt_install(r.add(deb(DEB_DIR)))
    r.install_log = out.stdout
    yield r
    r.remove()


def test_installs_from_depends_alone_and_carries_no_swift_runtime(installed):
    assert "Setting up tally (" + VERSION + ")" in installed.install_log
    for b in ("/usr/bin/tallyd", "/usr/bin/tally"):
        libs = installed.sh(f"ldd {b}").stdout
        assert "not found" not in libs, libs
        assert "swift" not in libs.lower(), libs
    assert installed.sh("dpkg-query -W -f '${Version}' tally").stdout == VERSION


def test_versions_agree(installed):
    assert installed.sh("tally --version").stdout.strip() == VERSION
    assert installed.sh("tallyd --version").stdout.strip() == VERSION


def test_the_installed_config_passes_check_config(installed):
    p = installed.sh("tallyd --check-config /etc/tally/tallyd.yaml")
    assert "ok" in p.stdout + p.stderr
    conffiles = installed.sh("cat /var/lib/dpkg/info/tally.conffiles").stdout.split()
    assert conffiles == ["/etc/tally/tallyd.yaml"]


def test_tallyd_from_usr_bin_serves_a_line_sent_with_the_installed_tally(installed):
    script = r"""
tallyd --config /etc/tally/tallyd.yaml --state-file /tmp/state > /tmp/tallyd.log 2>&1 &
pid=$!
i=0
until tally status > /dev/null 2>&1; do
  i=$((i+1)); [ $i -le 100 ] || { echo "tallyd never became ready"; cat /tmp/tallyd.log; exit 1; }
  sleep 0.1
done
tally count orders_placed_total --service order_executor -t order_type=limit -t symbol=BTCUSDT -t side=buy
i=0
while :; do
  body=$(exec 3<>/dev/tcp/127.0.0.1/9002 2>/dev/null && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3) || true
  case "$body" in *'orders_placed_total{order_type="limit",symbol="BTCUSDT",side="buy"} 1'*) break;; esac
  i=$((i+1)); [ $i -le 100 ] || { echo "the line never reached :9002"; echo "$body"; cat /tmp/tallyd.log; exit 1; }
  sleep 0.1
done
kill -TERM $pid; wait $pid
echo served
"""
    p = installed.sh("exec bash -ec '" + script.replace("'", "'\\''") + "'", net=False, timeout=120)
    assert p.stdout.strip().endswith("served"), p.stdout


def test_man_pages_and_completions_are_installed(installed):
    installed.apt_install("man-db")
    assert installed.sh("man -w tallyd").stdout.strip() == "/usr/share/man/man8/tallyd.8.gz"
    assert installed.sh("man -w tally").stdout.strip() == "/usr/share/man/man1/tally.1.gz"
    files = installed.sh("dpkg -L tally").stdout.split()
    for f in ["/usr/share/bash-completion/completions/tally", "/usr/share/zsh/vendor-completions/_tallyd",
              "/usr/share/fish/vendor_completions.d/tally.fish", "/usr/share/doc/tally/copyright",
              "/usr/share/doc/tally/changelog.gz", "/usr/share/doc/tally/docs/configuration.md", "/usr/share/tally/prometheus/prometheus.yml",
              "/lib/systemd/system/tally.service", "/lib/systemd/system/tally.socket"]:
        assert f in files, f
    assert any(f.startswith("/usr/share/tally/grafana/") and f.endswith(".json") for f in files)


def test_systemd_analyze_verify_accepts_the_installed_units(installed):
    # man-db too: verify checks that the pages Documentation= names exist.
    installed.apt_install("systemd", "man-db")
    unit = installed.sh("cat /lib/systemd/system/tally.service").stdout
    assert "ExecStart=/usr/bin/tallyd --config /etc/tally/tallyd.yaml" in unit
    p = installed.sh("SYSTEMD_LOG_LEVEL=warning systemd-analyze verify /lib/systemd/system/tally.socket "
                     "/lib/systemd/system/tally.service 2>&1", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    # Enabled the Debian way by the maintainer scripts (deb-systemd-helper).
    links = installed.sh("ls /etc/systemd/system/multi-user.target.wants /etc/systemd/system/sockets.target.wants").stdout
    assert "tally.service" in links and "tally.socket" in links


def test_an_upgrade_keeps_the_edited_conffile_and_installs_the_new_binaries(root):
    old, new = deb(DEB_DIR), deb(NEXT_DIR)
    new_version = re.search(r"tally_(.+)_amd64\.deb$", new).group(1)
    assert new_version != VERSION
    root.sh("apt-get update -q", timeout=600)
    root.apt_install(root.add(old))
    root.sh("printf '\\n# edited by the operator\\n' >> /etc/tally/tallyd.yaml")
    root.apt_install(root.add(new))
    assert "# edited by the operator" in root.sh("cat /etc/tally/tallyd.yaml").stdout
    assert root.sh("dpkg-query -W -f '${Version}' tally").stdout == new_version
    assert root.sh("tally --version").stdout.strip() == new_version
    assert root.sh("tallyd --version").stdout.strip() == new_version
    assert root.sh("tallyd --check-config /etc/tally/tallyd.yaml").returncode == 0


def test_purge_leaves_none_of_the_package_files_behind(root):
    root.sh("apt-get update -q", timeout=600)
    root.apt_install(root.add(deb(DEB_DIR)))
    listed = [f for f in root.sh("dpkg -L tally").stdout.split() if f.startswith("/")]
    files = [f for f in listed if not os.path.isdir(root.path + f)]
    assert "/usr/bin/tallyd" in files and "/etc/tally/tallyd.yaml" in files
    # What tallyd leaves while it runs under systemd: its state, in the dynamic user's directory.
    root.sh("mkdir -p /var/lib/private/tally && echo saved > /var/lib/private/tally/state && "
            "ln -sfn private/tally /var/lib/tally")
    root.sh("dpkg --purge tally")
    own_dirs = ["/etc/tally", "/usr/share/tally", "/usr/share/doc/tally", "/var/lib/tally", "/var/lib/private/tally"]
    left = [f for f in files + own_dirs if os.path.lexists(root.path + f)]
    assert left == [], left


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The package's files, unpacked on this host (dpkg-deb -x)."""
    d = tmp_path_factory.mktemp("unpacked")
    run(["dpkg-deb", "-x", deb(DEB_DIR), str(d)])
    return d


def toolchain_dir():
    swift = shutil.which("swift") or shutil.which("swiftc")
    if swift is None:
        return None
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(swift))))


def test_the_binaries_run_with_the_swift_toolchain_hidden(unpacked, tmp_path):
    """The toolchain's directory (/opt/swift here) covered by an empty one in a mount namespace:
    --version, then a whole send/scrape round trip in a network namespace of its own."""
    toolchain = toolchain_dir()
    if toolchain is None:
        pytest.skip("no Swift toolchain on this host to hide")
    empty = tmp_path / "empty"
    empty.mkdir()
    bin_dir = unpacked / "usr" / "bin"
    config = unpacked / "etc" / "tally" / "tallyd.yaml"
    script = f"""
mount --bind {empty} {toolchain}
ip link set lo up
[ -z "$(ls -A {toolchain})" ]
{bin_dir}/tallyd --version
{bin_dir}/tally --version
{bin_dir}/tallyd --config {config} --state-file {tmp_path}/state > {tmp_path}/tallyd.log 2>&1 &
pid=$!
i=0
until curl -sf http://127.0.0.1:9102/-/ready > /dev/null; do
  i=$((i+1)); [ $i -le 100 ] || {{ echo "tallyd never became ready"; cat {tmp_path}/tallyd.log; exit 1; }}
  sleep 0.1
done
{bin_dir}/tally gauge db_connections_total 7 --service risk_manager
i=0
until curl -sf http://127.0.0.1:8002/metrics | grep -qF 'db_connections_total{{service_name="risk_manager"}} 7'; do
  i=$((i+1)); [ $i -le 100 ] || {{ echo "the line never reached :8002"; exit 1; }}
  sleep 0.1
done
kill -TERM $pid; wait $pid
echo round-trip
"""
    p = run(["unshare", "--mount", "--net", "--fork", "/bin/bash", "-ec", script], timeout=120)
    lines = p.stdout.split()
    assert lines[:2] == [VERSION, VERSION]
    assert lines[-1] == "round-trip"
