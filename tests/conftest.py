from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nodeproc import NodeProc, blog_command, node_command, start_process


@pytest.fixture
def spawn_node(tmp_path: Path) -> Iterator[Callable[..., NodeProc]]:
    """Start real `becoin-node` processes on free ports; all are killed at teardown.

    spawn_node("--difficulty", "2") keeps its data in a folder of its own under
    tmp_path unless the arguments say otherwise (--memory or --data-dir).
    """
    started: list[NodeProc] = []
    counter = itertools.count(1)

    def spawn(*args: str, blog: bool = False, env: dict[str, str] | None = None) -> NodeProc:
        n = next(counter)
        if blog:
            cmd = blog_command()
        else:
            extra = [] if ("--memory" in args or "--data-dir" in args) else [
                "--data-dir", str(tmp_path / f"node{n}")]
            cmd = node_command(*extra, *args)
        node = start_process(cmd, tmp_path / f"node{n}.log", tmp_path, env=env)
        started.append(node)
        return node

    yield spawn
    for node in started:
        node.kill()
