"""Help: every key in the blog's words (which endpoint it calls, what to watch for)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# key, what it does, what to watch for
KEYS: list[tuple[str, str, str]] = [
    ("c", "Connect every node to every other: POST /connect_node {\"nodes\": [...]} on each.",
     "each header's peer count rises to N-1; the log shows 201 and the node's message."),
    ("m", "Mine a block on the selected node: GET /mine_block.",
     "a new row on that node only; the banner says where the chains diverge."),
    ("t", "Post a transaction to the selected node: POST /add_transaction "
          "{sender, receiver, amount}.",
     "the answer 'This transaction will be added to block N'; it waits in the mempool."),
    ("r", "Consensus round: GET /replace_chain on every node (the longest chain wins).",
     "shorter chains are replaced; the banner says 'N/N nodes agree'."),
    ("v", "Validate every node's chain: GET /is_valid.",
     "each node's answer in the log: valid, or not."),
    ("←/→ tab 1-9", "Select a node (a mouse click selects too).", "the highlighted panel."),
    ("enter", "Show the highlighted block whole.", "its nonce, previous hash, transactions."),
    ("?", "This help.", ""),
    ("ctrl+s", "Save an SVG screenshot.", "the log names the file."),
    ("ctrl+p", "Command palette: every action by name.", ""),
    ("q", "Quit: every node the lab started is stopped.", ""),
]  # fmt: skip

LEGEND = (
    "Markers: = block every node shares   X the fork point   + past the shared prefix "
    "(only some nodes have it).\n"
    "Each node makes its own genesis block (with its own timestamp), so fresh nodes differ "
    "from block 1 until a consensus round (r) hands them the longest chain."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self) -> None:
        super().__init__(classes="modal")

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, padding=(0, 1))
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("what it does (the blog's endpoint)", ratio=3)
        table.add_column("what to watch for", ratio=2)
        for key, what, watch in KEYS:
            table.add_row(key, what, watch)
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "BeCoin Lab: keys"
            yield Static(table, id="help-table")
            yield Static(Text(LEGEND), classes="hint")
            yield Static("escape: close", classes="hint")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
