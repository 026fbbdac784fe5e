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
          "{sender, receiver, amount}; in a lab with wallets, signed as a wallet you pick.",
     "the answer 'This transaction will be added to block N'; it waits in the mempool."),
    ("r", "Consensus round: GET /replace_chain on every node (the longest chain wins).",
     "shorter chains are replaced; the banner says 'N/N nodes agree'."),
    ("v", "Validate every node's chain: GET /is_valid.",
     "each node's answer in the log: valid, or not."),
    ("k", "Stop the selected node: SIGTERM to its process (the lab's supervisor, not HTTP).",
     "its panel turns DOWN (last chain seen, dimmed); the banner names it down."),
    ("s", "Start the selected node again: the same data folder, so its chain and mempool "
          "come back from disk; a partition or latency it had is set again.",
     "the panel comes back up with the chain it had; 'r' catches it up."),
    ("palette", "Kill the node (SIGKILL: a crash) / Restart the node (stop, then start).",
     "a kill gives it no time to tidy up; it still comes back from disk."),
    ("p", "Partition: the selected node alone | the rest. POST /admin/partition on every node "
          "(the palette's 'Partition into groups…' takes any groups).",
     "'cut A: … | B: …' in the banner, 'side A' in each header; replace_chain across the "
     "cut fails, so each side only sees its own chains."),
    ("h", "Heal: POST /admin/partition with no blocked peers, on every node.",
     "the sides leave the banner and headers; 'r' lets the longest chain win everywhere."),
    ("l", "Latency and loss on the selected node: POST /admin/latency {ms, loss}.",
     "'lag 300ms loss 20%' in its header; its peer calls slow down or fail."),
    ("a", "Automine on the selected node: POST /admin/automine, a block every 2 s, or off.",
     "'auto 2s' in its header; its chain grows by itself (forks with two miners)."),
    ("g", "Traffic: random transactions, 2 per second, POST /add_transaction to nodes up.",
     "'traffic 2/s: N sent' in the banner; mempools fill and empty as blocks are mined."),
    ("f", "Forge (a node with role = \"forger\" selected): POST /admin/forge. It rewrites an "
          "early transaction of an honest chain to pay itself, re-links the hashes with no "
          "work redone, mines one block on top and offers the chain to its peers.",
     "'!' marks the forged blocks wherever they are held; after 'r' the banner says whose "
     "chain won: classic nodes adopt it, strict nodes refuse it and keep theirs."),
    ("b", "Balances: every address on every node, from its chain (the blog's way under "
          "classic rules; signed transfers under strict).",
     "one log line per node; a lab with wallets shows them in each panel, '≠' where nodes "
     "disagree."),
    ("←/→ tab 1-9", "Select a node (a mouse click selects too).", "the highlighted panel."),
    ("enter", "Show the highlighted block whole.", "its nonce, previous hash, transactions."),
    ("?", "This help.", ""),
    ("ctrl+s", "Save an SVG screenshot.", "the log names the file."),
    ("ctrl+p", "Command palette: every action by name.", ""),
    ("q", "Quit: every node the lab started is stopped.", ""),
]  # fmt: skip

LEGEND = (
    "Markers: = block every node shares   X the fork point   + past the shared prefix "
    "(only some nodes have it)   ! a block of the last forgery.\n"
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
