import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from tallykit import TALLYD, Tallyd  # noqa: E402


def pytest_configure(config):
    if not os.access(TALLYD, os.X_OK):
        raise pytest.UsageError(f"tallyd binary not found at {TALLYD}: run `make test` (or set TALLYD)")
    if shutil.which("promtool") is None:
        raise pytest.UsageError("promtool not found: run scripts/install-deps.sh test")


@pytest.fixture
def tallyd():
    with Tallyd() as d:
        yield d
