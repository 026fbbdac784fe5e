from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labtools import lab_toml

from becoin_lab.config import load_config
from becoin_lab.lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """Three real nodes (difficulty 1, free ports), stopped at teardown even when a test fails."""
    the_lab = Lab(load_config(lab_toml(tmp_path)))
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()
