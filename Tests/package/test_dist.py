"""The Python client's wheel and sdist (`make dist`), installed with pip from the file into a
fresh virtualenv, as a user of the client would."""
import glob
import os
import subprocess
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
DIST = os.path.join(ROOT, "clients", "python", "dist")


def built(pattern):
    found = glob.glob(os.path.join(DIST, pattern))
    if not found:
        pytest.fail(f"nothing like {pattern} in {DIST}: run `make dist`")
    return found


def test_make_dist_builds_a_wheel_and_an_sdist_of_the_one_version():
    assert [os.path.basename(w) for w in built("*.whl")] == [f"tally_client-{VERSION}-py3-none-any.whl"]
    # setuptools before 69.3 names the sdist tally-client-…, later ones tally_client-… (PEP 625).
    assert [os.path.basename(s).replace("-", "_", 1) for s in built("*.tar.gz")] == [f"tally_client-{VERSION}.tar.gz"]


@pytest.mark.parametrize("kind", ["*.whl", "*.tar.gz"])
def test_pip_installs_it_from_the_file_and_it_sends(tmp_path, kind):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    artifact = built(kind)[0]
    # The wheel installs with no index (the client has no dependencies); the sdist builds in pip's
    # isolated environment, whose setuptools comes from PyPI as for any user.
    flags = ["--no-index"] if kind == "*.whl" else []
    p = subprocess.run([py, "-m", "pip", "install", "-q", *flags, artifact], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    # It imports from the venv, not from the source tree, and formats a line.
    code = ("import tally_client, os; print(tally_client.__version__); "
            "print(os.path.dirname(tally_client.__file__).startswith(os.environ['VENV'])); "
            "print(tally_client.format_line('orders_placed_total', 1, 'c', [('service', 'order_executor')]))")
    p = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=30, cwd=str(tmp_path),
                       env={**os.environ, "VENV": str(env_dir)})
    assert p.returncode == 0, p.stderr
    version, from_venv, line = p.stdout.split("\n")[:3]
    assert version == VERSION and from_venv == "True"
    assert line.startswith("orders_placed_total:1|c|#service:order_executor"), line
