"""The lab core must not import Textual: the headless runner and CI run without a UI."""

from __future__ import annotations

import subprocess
import sys

from labtools import ROOT

CHECK = """
import sys
import becoin_lab.cli, becoin_lab.lab, becoin_lab.script, becoin_lab.runner, becoin_lab.report
import becoin_lab.supervisor, becoin_lab.client, becoin_lab.diff, becoin_lab.config
import becoin_lab.balances, becoin_lab.tracker
from becoin_lab.cli import build_parser
build_parser().parse_args(["run", "script.toml"])
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "rich")))
print(",".join(bad))
"""


def test_core_modules_do_not_import_textual_or_rich():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported by the core: {proc.stdout}"


def test_tui_without_app_module_says_so_and_exits_2(monkeypatch, capsys):
    import becoin_lab.cli as cli
    from becoin_lab.config import load_config

    monkeypatch.setitem(sys.modules, "becoin_lab.app", None)  # as if app.py did not exist
    assert cli.run_tui(load_config(ROOT / "lab.toml")) == 2
    assert "terminal UI is not available yet" in capsys.readouterr().err
