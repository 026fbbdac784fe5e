from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from uitools import make_lab, make_strict_lab

from becoin_lab.lab import Lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """Three real nodes with reproducible hashes (difficulty 1, free ports), always stopped."""
    the_lab = make_lab(tmp_path)
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


@pytest.fixture
def strict_lab(tmp_path: Path) -> Iterator[Lab]:
    """Strict rules, fixed wallets alice/bob/mallory, node1, node2 and a forger (uitools)."""
    the_lab = make_strict_lab(tmp_path)
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()
