"""The transaction form: who signs (a wallet, or unsigned with a sender's name), receiver,
amount; checked before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from becoin_lab.errors import NodeError

UNSIGNED = ""  # the Select's value for "unsigned: the sender as typed" (the blog's way)


def check_transaction(
    sender: str, receiver: str, amount: str, wallet: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The fields as the node wants them, and the problems a person can fix before sending.
    With a ``wallet`` the wallet signs and the sender field is not needed."""
    problems = []
    sender, receiver, amount = sender.strip(), receiver.strip(), amount.strip()
    if not sender and not wallet:
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
    """Posts one transaction to one node through ``send(sender, receiver, amount, wallet)``.

    With ``wallets`` (the lab's, by name) a "sign as" choice comes first: a wallet signs
    (strict rules) or sends from its public key (classic); "unsigned" sends the sender as
    typed, as the blog does. The receiver may name a wallet."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(
        self,
        node: str,
        send: Callable[[str, str, Any, str | None], str],
        wallets: list[str] | None = None,
        wallet: str | None = None,
    ) -> None:
        super().__init__(classes="modal")
        self.node = node
        self.send = send
        self.wallets = list(wallets or [])
        self.default_wallet = wallet if wallet in self.wallets else UNSIGNED

    @property
    def wallet(self) -> str | None:
        """The wallet chosen to sign, or None (unsigned, or a lab without wallets)."""
        if not self.wallets:
            return None
        value = self.query_one("#wallet", Select).value
        return value if isinstance(value, str) and value != UNSIGNED else None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = f"POST /add_transaction to {self.node}"
            if self.wallets:
                options = [(f"wallet {w}", w) for w in self.wallets]
                options.append(("unsigned (sender as typed)", UNSIGNED))
                with Horizontal(classes="field"):
                    yield Label("sign as", classes="label")
                    yield Select(options, value=self.default_wallet, allow_blank=False,
                                 id="wallet")  # fmt: skip
            with Horizontal(classes="field"):
                yield Label("sender", classes="label")
                yield Input(placeholder="e.g. Alice", id="sender")
            with Horizontal(classes="field"):
                yield Label("receiver", classes="label")
                hint = f"a wallet ({', '.join(self.wallets)}) or an address" if self.wallets \
                    else "e.g. Bob"  # fmt: skip
                yield Input(placeholder=hint, id="receiver")
            with Horizontal(classes="field"):
                yield Label("amount", classes="label")
                yield Input(placeholder="e.g. 5", id="amount")
            yield Static("", id="answer")
            with Horizontal(id="buttons"):
                yield Button("Send", variant="primary", id="send")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        if not self.query("#sender"):  # pushed while the app closes: nothing composed
            return
        self._sender_state()
        first = "receiver" if self.wallet else "sender"
        self.query_one(f"#{first}", Input).focus()

    @on(Select.Changed, "#wallet")
    def _wallet_changed(self) -> None:
        self._sender_state()

    def _sender_state(self) -> None:
        """A wallet signs: the sender is its key, so the sender field is off."""
        sender = self.query_one("#sender", Input)
        wallet = self.wallet
        sender.disabled = wallet is not None
        sender.placeholder = f"{wallet}'s public key (signed)" if wallet else "e.g. Alice"

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
        wallet = self.wallet
        fields, problems = check_transaction(
            self.query_one("#sender", Input).value,
            self.query_one("#receiver", Input).value,
            self.query_one("#amount", Input).value,
            wallet,
        )
        fields["wallet"] = wallet
        answer = self.query_one("#answer", Static)
        if problems:
            answer.set_classes("-error")
            answer.update("not sent: " + "; ".join(problems))
            first = problems[0].split(":", 1)[0]
            self.set_focus(self.query_one(f"#{first}", Input))  # the first field to fix
            return
        answer.set_classes("-sending")
        signed = f" signed by {wallet}" if wallet else ""
        answer.update(f"sending to {self.node}{signed}…")
        self._send(fields)

    @work(thread=True, exit_on_error=False, exclusive=True, group="tx")
    def _send(self, fields: dict[str, Any]) -> None:
        try:
            message = self.send(
                fields["sender"], fields["receiver"], fields["amount"], fields["wallet"]
            )
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
