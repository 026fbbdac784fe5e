"""Exceptions of the lab core. Each says what failed and where, in words a person can act on."""

from __future__ import annotations

from pathlib import Path


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class ConfigError(LabError):
    """A lab.toml or script.toml that cannot be used: names the file, the key and the line."""

    def __init__(
        self,
        path: Path | str | None,
        key: str | None,
        message: str,
        line: int | None = None,
        step: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        self.line = line
        self.step = step
        self.detail = message
        where = self.path or "<config>"
        if line is not None:
            where += f", line {line}"
        if step is not None:
            where += f", step {step}"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}")


class ScriptError(ConfigError):
    """A bad script: names the file, the step number and the key."""


class NodeError(LabError):
    """A call to one node failed: says which node, which action, and what happened."""

    def __init__(self, node: str, action: str, message: str, status: int | None = None) -> None:
        self.node = node
        self.action = action
        self.status = status
        self.detail = message
        super().__init__(f"{node}: {action} failed: {message}")


class NodeDown(NodeError):
    """The node could not be reached at all (refused, timed out, not started)."""


class StartError(LabError):
    """One or more nodes did not come up; carries the tail of each failed node's log."""

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        self.failures = failures or {}
        super().__init__(message)
