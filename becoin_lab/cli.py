"""`becoin-lab`: the TUI (no subcommand) and `becoin-lab run SCRIPT` (headless).

Exit codes of `run`: 0 every expectation held, 1 one failed (or a node failed / died),
2 a bad script or config (file, step and key named, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from becoin_lab.config import LabConfig, check_ports_free, load_config
from becoin_lab.errors import ConfigError, LabError, StartError

DEFAULT_CONFIG = "lab.toml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="becoin-lab",
        description="A lab of BeCoin nodes: the blog's three consoles and Postman, in one tool.",
    )
    parser.add_argument(
        "--config",
        "-c",
        default=None,
        help="the lab's nodes and settings (default: ./lab.toml)",
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the lab, play a script with checks, stop the lab")
    run.add_argument("script", help="a script.toml, e.g. examples/blog_walkthrough.toml")
    run.add_argument(
        "--config",
        "-c",
        dest="run_config",
        default=None,
        help="the lab's nodes and settings (default: the script's own config = ..., "
        "else ./lab.toml)",
    )
    run.add_argument("--json", metavar="REPORT", help="also write a JSON report there (for CI)")
    data = run.add_mutually_exclusive_group()
    data.add_argument(
        "--keep-data",
        action="store_true",
        help="use and keep the config's data_dir instead of fresh node data",
    )
    data.add_argument(
        "--data-dir", type=Path, help="keep node data and logs in this folder (reused if it exists)"
    )
    check = sub.add_parser("check", help="validate lab.toml and its ports without starting")
    check.add_argument(
        "--config", "-c", dest="run_config", default=None, help="the lab.toml to check"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run_command(args)
    config_path = getattr(args, "run_config", None) or args.config or DEFAULT_CONFIG
    try:
        config = load_config(config_path)
        if args.command == "check":
            check_ports_free(config)
            print(f"{config_path}: ok, {len(config.nodes)} nodes, difficulty {config.difficulty}")
            return 0
    except ConfigError as exc:
        return _config_error(exc)
    return run_tui(config)


def run_tui(config: LabConfig) -> int:
    """The Textual app lives in becoin_lab.app; it is imported only here, never by the core.

    Contract for the UI: ``becoin_lab.app.run_tui(config: LabConfig) -> int | None``.
    """
    try:
        app = importlib.import_module("becoin_lab.app")
    except ModuleNotFoundError as exc:
        if exc.name in ("becoin_lab.app", "textual"):
            print(
                "becoin-lab: the terminal UI is not available yet (becoin_lab.app is missing).\n"
                "Use the headless runner: becoin-lab run examples/blog_walkthrough.toml",
                file=sys.stderr,
            )
            return 2
        raise
    return int(app.run_tui(config) or 0)


def run_command(args: argparse.Namespace) -> int:
    from becoin_lab.lab import Lab
    from becoin_lab.runner import Runner, RunReport
    from becoin_lab.script import load_script

    try:
        script = load_script(args.script)
        config_path = str(
            args.run_config or args.config or script.config or DEFAULT_CONFIG
        )
        config = load_config(config_path)
        script.check_lab(config)
        check_ports_free(config)
    except ConfigError as exc:
        return _config_error(exc)

    fresh = not (args.keep_data or args.data_dir)
    data_dir = (
        Path(tempfile.mkdtemp(prefix="becoin-lab-run-"))
        if fresh
        else (args.data_dir or config.data_dir)
    )
    managed = sum(1 for n in config.nodes if n.managed)
    print(
        f"becoin-lab run {args.script}: {len(config.nodes)} nodes ({managed} started here), "
        f"difficulty {config.difficulty}, data in {data_dir}" + (" (fresh)" if fresh else "")
    )
    if script.description:
        print(f"  {script.description.strip().splitlines()[0]}")
    lab = Lab(config, data_dir=data_dir, progress=_progress if sys.stderr.isatty() else None)
    report: RunReport | None = None
    runner: Runner | None = None
    code = 1
    try:
        began = time.monotonic()
        lab.start()
        _clear_progress()
        print(f"  {managed} nodes up in {time.monotonic() - began:.2f}s")
        runner = Runner(lab, script)
        report = runner.run()
        code = report.exit_code
    except ConfigError as exc:  # a port taken between the check and the start
        code = _config_error(exc)
    except StartError as exc:
        _clear_progress()
        print(f"becoin-lab: the lab did not start: {exc}", file=sys.stderr)
        for name, reason in exc.failures.items():
            print(f"--- {name}: {reason}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        _clear_progress()
        print("\ninterrupted: stopping the lab", file=sys.stderr)
        code = 130
    finally:
        lab.close()
        if runner is not None and report is None:
            report = runner.report
        if args.json:
            _write_json(Path(args.json), args, config_path, data_dir, report, code)
        if fresh and code == 0:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif fresh:
            print(f"node data and logs kept in {data_dir}", file=sys.stderr)
    return code


def _write_json(
    path: Path,
    args: argparse.Namespace,
    config_path: str,
    data_dir: Path,
    report: object,
    code: int,
) -> None:
    data = report.to_json() if report is not None else {"ok": False, "steps": []}  # type: ignore[attr-defined]
    data.update(
        script=str(args.script),
        config=str(config_path),
        data_dir=str(data_dir),
        exit_code=code,
        ok=code == 0,
    )
    if code == 130:
        data["interrupted"] = True
    try:
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"becoin-lab: cannot write {path}: {exc}", file=sys.stderr)


def _config_error(exc: LabError) -> int:
    print(f"becoin-lab: {exc}", file=sys.stderr)
    return 2


def _progress(up: int, total: int, name: str) -> None:
    sys.stderr.write(f"\r  starting nodes: {up}/{total} up ({name})\x1b[K")
    sys.stderr.flush()


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
