"""Small forms for network faults: a node's latency and loss, a partition's groups.

Each checks what was typed and dismisses with the values (or None when closed); the app
runs the Lab call itself, in a worker.
"""

from __future__ import annotations

import math
import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


def check_latency(ms: str, loss: str) -> tuple[tuple[int, float] | None, list[str]]:
    """(ms, loss) as Lab.latency wants them, or the problems to fix."""
    problems = []
    ms, loss = ms.strip() or "0", loss.strip() or "0"
    delay: int | None = None
    share: float | None = None
    try:
        delay = int(ms)
        if delay < 0:
            problems.append("ms: 0 or more (milliseconds added to each peer call)")
    except ValueError:
        problems.append(f"ms: '{ms}' is not a whole number of milliseconds")
    try:
        share = float(loss.rstrip("%")) / (100 if loss.endswith("%") else 1)
        if not math.isfinite(share) or not 0 <= share <= 1:
            problems.append("loss: a share from 0 to 1 (or 0% to 100%)")
    except ValueError:
        problems.append(f"loss: '{loss}' is not a number (0 to 1, or a percentage)")
    if problems or delay is None or share is None:
        return None, problems
    return (delay, share), []


def check_groups(text: str, names: list[str]) -> tuple[list[list[str]] | None, list[str]]:
    """'node1 | node2, node3' -> [['node1'], ['node2', 'node3']]; the problems to fix."""
    groups = [[n for n in re.split(r"[\s,]+", part) if n] for part in text.split("|")]
    groups = [g for g in groups if g]
    problems = []
    unknown = [n for g in groups for n in g if n not in names]
    if unknown:
        problems.append(f"no node named {', '.join(unknown)} (nodes: {', '.join(names)})")
    seen = [n for g in groups for n in g]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        problems.append(f"{', '.join(twice)} in more than one group")
    missing = [n for n in names if n not in seen]
    if missing:
        problems.append(f"{', '.join(missing)} in no group: put every node in one")
    if len(groups) < 2:
        problems.append("at least two groups, split by '|'")
    return (None if problems else groups), problems


class _Form(ModalScreen[object]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]
    FIELDS: tuple[str, ...] = ()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter in a field: the next field, or submit from the last."""
        i = self.FIELDS.index(event.input.id or self.FIELDS[-1])
        if i + 1 < len(self.FIELDS):
            self.set_focus(self.query_one(f"#{self.FIELDS[i + 1]}", Input))
        else:
            self.submit()

    def submit(self) -> None:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__(classes="modal form")

    def buttons(self, label: str) -> ComposeResult:
        yield Static("", id="answer")
        with Horizontal(id="buttons"):
            yield Button(label, variant="primary", id="send")
            yield Button("Close", id="close")

    def problem(self, problems: list[str]) -> None:
        answer = self.query_one("#answer", Static)
        answer.set_classes("-error")
        answer.update("not sent: " + "; ".join(problems))

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class LatencyScreen(_Form):
    """Delay and loss on one node's peer calls: POST /admin/latency {ms, loss}."""

    FIELDS = ("ms", "loss")

    def __init__(self, node: str, ms: int = 0, loss: float = 0.0) -> None:
        super().__init__()
        self.node = node
        self.ms = ms
        self.loss = loss

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = f"POST /admin/latency to {self.node}"
            with Horizontal(classes="field"):
                yield Label("ms", classes="label")
                yield Input(str(self.ms), placeholder="e.g. 300 (0: fast again)", id="ms")
            with Horizontal(classes="field"):
                yield Label("loss", classes="label")
                yield Input(f"{self.loss:g}", placeholder="0 to 1, e.g. 0.2", id="loss")
            yield Static(
                "Peer calls to and from this node wait ms, and a loss share of them fail. "
                "0 and 0 make its links fast again.",
                classes="hint",
            )
            yield from self.buttons("Set")

    def on_mount(self) -> None:
        for field in self.query("#ms"):  # none when pushed while the app closes
            field.focus()

    @on(Button.Pressed, "#send")
    def submit(self) -> None:
        values, problems = check_latency(
            self.query_one("#ms", Input).value, self.query_one("#loss", Input).value
        )
        if values is None:
            self.problem(problems)
            return
        self.dismiss(values)


class PartitionScreen(_Form):
    """The groups of a partition, typed as 'node1 | node2, node3'."""

    FIELDS = ("groups",)

    def __init__(self, names: list[str], groups: list[list[str]]) -> None:
        super().__init__()
        self.names = names
        self.groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "POST /admin/partition to every node"
            with Horizontal(classes="field"):
                yield Label("groups", classes="label")
                text = " | ".join(" ".join(g) for g in self.groups)
                yield Input(text, placeholder="node1 | node2 node3", id="groups")
            yield Static(
                "Split the nodes into groups with '|'. Each node refuses peer traffic from "
                "every node outside its group, both ways; h heals.",
                classes="hint",
            )
            yield from self.buttons("Partition")

    def on_mount(self) -> None:
        for field in self.query("#groups"):  # none when pushed while the app closes
            field.focus()

    @on(Button.Pressed, "#send")
    def submit(self) -> None:
        groups, problems = check_groups(self.query_one("#groups", Input).value, self.names)
        if groups is None:
            self.problem(problems)
            return
        self.dismiss(groups)
