"""The transaction form: sender, receiver, amount; checked before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from becoin_lab.errors import NodeError


def check_transaction(sender: str, receiver: str, amount: str) -> tuple[dict[str, Any], list[str]]:
    """The fields as the node wants them, and the problems a person can fix before sending."""
    problems = []
    sender, receiver, amount = sender.strip(), receiver.strip(), amount.strip()
    if not sender:
        problems.append("sender: who pays? (a name, e.g. Alice)")
    if not receiver:
        problems.append("receiver: who is paid? (a name, e.g. Bob)")
    value: int | float | None = None
    if not amount:
        problems.append("amount: how many BeCoins? (a positive number)")
    else:
        try:
            value = int(amount)
        except ValueError:
            try:
                value = float(amount)
            except ValueError:
                problems.append(f"amount: '{amount}' is not a number")
        if value is not None and (not math.isfinite(value) or value <= 0):
            problems.append("amount: must be more than 0")
    return {"sender": sender, "receiver": receiver, "amount": value}, problems


class TransactionScreen(ModalScreen[None]):
    """Posts one transaction to one node through ``send(sender, receiver, amount)``."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, node: str, send: Callable[[str, str, Any], str]) -> None:
        super().__init__(classes="modal")
        self.node = node
        self.send = send

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = f"POST /add_transaction to {self.node}"
            with Horizontal(classes="field"):
                yield Label("sender", classes="label")
                yield Input(placeholder="e.g. Alice", id="sender")
            with Horizontal(classes="field"):
                yield Label("receiver", classes="label")
                yield Input(placeholder="e.g. Bob", id="receiver")
            with Horizontal(classes="field"):
                yield Label("amount", classes="label")
                yield Input(placeholder="e.g. 5", id="amount")
            yield Static("", id="answer")
            with Horizontal(id="buttons"):
                yield Button("Send", variant="primary", id="send")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#sender", Input).focus()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        order = ["sender", "receiver", "amount"]
        i = order.index(event.input.id or "sender")
        if i < 2:  # now, not later: keys typed fast (or pasted) go to the next field
            self.set_focus(self.query_one(f"#{order[i + 1]}", Input))
        else:
            self.submit()

    @on(Button.Pressed, "#send")
    def submit(self) -> None:
        fields, problems = check_transaction(
            self.query_one("#sender", Input).value,
            self.query_one("#receiver", Input).value,
            self.query_one("#amount", Input).value,
        )
        answer = self.query_one("#answer", Static)
        if problems:
            answer.set_classes("-error")
            answer.update("not sent: " + "; ".join(problems))
            first = problems[0].split(":", 1)[0]
            self.set_focus(self.query_one(f"#{first}", Input))  # the first field to fix
            return
        answer.set_classes("-sending")
        answer.update(f"sending to {self.node}…")
        self._send(fields)

    @work(thread=True, exit_on_error=False, exclusive=True, group="tx")
    def _send(self, fields: dict[str, Any]) -> None:
        try:
            message = self.send(fields["sender"], fields["receiver"], fields["amount"])
        except NodeError as exc:
            self.app.later(  # type: ignore[attr-defined]
                self._answer, f"{self.node} said: {exc.detail}", "-error"
            )
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.app.later(  # type: ignore[attr-defined]
                self._answer, f"failed: {exc}", "-error"
            )
        else:
            self.app.later(  # type: ignore[attr-defined]
                self._answer, f"{self.node}: {message}", "-ok"
            )

    def _answer(self, words: str, mood: str) -> None:
        if not self.is_attached:  # closed before the node answered; the log has it
            return
        answer = self.query_one("#answer", Static)
        answer.set_classes(mood)
        answer.update(self.app.redact(words))  # type: ignore[attr-defined]

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
