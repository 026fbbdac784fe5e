"""One node's panel: header, chain table (rows updated in place), mempool and peers.

The panel polls its node from a thread worker of its own (group "poll", exclusive on this
panel only, so one node's poll never cancels another's) and posts what it sees to the app.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from becoin_lab.diff import common_prefix

if TYPE_CHECKING:
    from becoin_lab.lab import NodeState

SHORT = 6
# Block markers: they read without colour too.
SHARED, FORK, PAST, FORGED = "=", "X", "+", "!"
MARK_STYLE = {SHARED: "green", FORK: "bold red", PAST: "yellow", FORGED: "bold magenta"}
# One cell per row, laid out in fixed columns: the table re-renders every visible cell of a
# table that changed, so one cell per row instead of six keeps a change cheap (see
# benchmarks/bench_tui.py).
ROW_FORMAT = "{mark} {index:>5} {hash:<6} {prev:<6} {nonce:>7} {tx:>3}"
HEADER = ROW_FORMAT.format(mark=" ", index="#", hash="hash", prev="prev", nonce="nonce", tx="tx")
ROW_WIDTH = len(HEADER)


def short(value: str) -> str:
    return value[:SHORT] if value else "-"


def mark_of(index: int, shared: int, fork: int | None) -> str:
    """The marker of block ``index`` (1-based) given the shared prefix and the fork point."""
    if index <= shared:
        return SHARED
    if fork is not None and index == fork:
        return FORK
    return PAST


def number(value: Any) -> str:
    """An amount as a person writes it: 25, 17.5 (never 2.5e+01)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def tx_text(tx: dict[str, Any]) -> str:
    return f"{tx.get('sender', '?')}->{tx.get('receiver', '?')} {tx.get('amount', '?')}"


def _settle_dimensions(table: DataTable[Any]) -> None:
    """Size the table for its new rows now rather than on its next idle.

    DataTable measures added rows when idle and defers a cursor scroll until after the next
    refresh, so a new block would take two frames (layout, then the scroll to the tip).
    Doing the idle work here puts the new virtual size, the scroll and the rows in one."""
    if not getattr(table, "_require_update_dimensions", False):
        return
    new_rows = getattr(table, "_new_rows", None)
    update = getattr(table, "_update_dimensions", None)
    if new_rows is None or update is None:  # another Textual: leave it to the idle handler
        return
    table._require_update_dimensions = False
    rows = new_rows.copy()
    new_rows.clear()
    update(rows)


class ChainTable(DataTable[Any]):
    """The chain table. A new block only makes it taller: that needs its scrollbar and
    scroll range updated, not a layout of the whole screen (which also re-renders every
    scrollbar and costs a second frame). A scrollbar appearing still lays out the screen
    (``show_vertical_scrollbar`` asks for it)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        if old != new and self.is_mounted and self._size:
            self._scroll_update(new)
            self.refresh()


class NodePanel(Vertical, can_focus=False):
    """A node, side by side with the others."""

    class Polled(Message):
        """A fresh NodeState from the poll worker (posted from its thread)."""

        def __init__(self, panel: NodePanel, state: NodeState) -> None:
            self.panel = panel
            self.state = state
            super().__init__()

    class PollFailed(Message):
        def __init__(self, panel: NodePanel, error: BaseException) -> None:
            self.panel = panel
            self.error = error
            super().__init__()

    class Chosen(Message):
        """The user clicked or focused into this panel."""

        def __init__(self, panel: NodePanel) -> None:
            self.panel = panel
            super().__init__()

    class BlockChosen(Message):
        """Enter (or a click) on a block row: show the block whole."""

        def __init__(self, panel: NodePanel, index: int) -> None:
            self.panel = panel
            self.index = index
            super().__init__()

    mining: reactive[bool] = reactive(False)

    def __init__(self, node: str, number: int) -> None:
        super().__init__(id=f"panel-{node}", classes="node-panel")
        self.node = node
        self.number = number
        self.border_title = f"{number} {node}" if number <= 9 else node
        self.state: NodeState | None = None
        self.url_text = ""
        self.peer_text = ""
        self._hashes: list[str] = []
        self._rows: tuple[dict[str, Any], ...] = ()  # the blocks and hashes rows are drawn from
        self._row_hashes: tuple[str, ...] = ()
        self._marks: list[str] = []
        self._shared = 0
        self._fork: int | None = None
        self._forged: dict[int, str] = {}  # block index -> hash of a forged block
        self.side: str | None = None  # partition side letter, None when not partitioned
        self._balances: tuple[tuple[str, Any, bool], ...] | None = None
        self._wake = threading.Event()

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first answer…", id="header", classes="header")
        table: DataTable[Any] = ChainTable(
            id="chain", cursor_type="row", show_row_labels=False, zebra_stripes=False
        )
        yield table
        yield Static("", id="extra", classes="extra")

    def on_mount(self) -> None:
        table = self.table
        table.add_column(HEADER, key="block", width=ROW_WIDTH)

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#chain", DataTable)

    # -- polling ---------------------------------------------------------------------------
    def start_polling(self, interval: float) -> None:
        self.poll(interval)

    def wake(self) -> None:
        """Poll now instead of at the next tick (after an action)."""
        self._wake.set()

    @work(thread=True, exit_on_error=False, exclusive=True, group="poll")
    def poll(self, interval: float) -> None:
        worker = get_current_worker()
        lab = self.app.lab  # type: ignore[attr-defined]
        while not worker.is_cancelled:
            try:
                state = lab.snapshot(self.node)[self.node]
            except Exception as exc:  # noqa: BLE001 - shown in the log, never fatal
                message: Message = self.PollFailed(self, exc)
            else:
                message = self.Polled(self, state)
            if worker.is_cancelled:
                break
            self.post_message(message)
            self._wake.wait(interval)
            self._wake.clear()

    # -- drawing ---------------------------------------------------------------------------
    def show_state(self, state: NodeState, shared: int, fork: int | None) -> None:
        """Bring header, table and extras up to date with ``state``; rows change in place."""
        self.state = state
        self.set_class(not state.up, "-down")
        self._sync_rows(state, shared, fork)
        self._draw_header()
        self._draw_extra()

    def show_marks(self, shared: int, fork: int | None) -> None:
        """Re-mark rows after another node changed the network's shared prefix or fork."""
        if (shared, fork) == (self._shared, self._fork):
            return
        start = min(shared, self._shared)
        for fk in (fork, self._fork):
            if fk is not None:
                start = min(start, fk - 1)
        self._shared, self._fork = shared, fork
        table = self.table
        for i in range(max(0, start), len(self._hashes)):
            mark = self._mark(i + 1, shared, fork)
            if self._marks[i] != mark:
                self._marks[i] = mark
                table.update_cell(str(i + 1), "block", self._row(i, mark))

    def _sync_rows(self, state: NodeState, shared: int, fork: int | None) -> None:
        table = self.table
        old, new = self._hashes, list(state.hashes)
        if old == new:
            self.show_marks(shared, fork)
            return
        follow = not old or table.cursor_row >= len(old) - 1
        same = common_prefix(old, new)
        self.show_marks(shared, fork)
        for i in range(len(old) - 1, len(new) - 1, -1):  # the chain got shorter
            table.remove_row(str(i + 1))
        del self._marks[len(new) :]
        self._rows = state.chain
        self._row_hashes = state.hashes
        for i in range(same, min(len(old), len(new))):  # a reorg: same index, new block
            self._marks[i] = mark = self._mark(i + 1, shared, fork)
            table.update_cell(str(i + 1), "block", self._row(i, mark))
        for i in range(len(old), len(new)):
            mark = self._mark(i + 1, shared, fork)
            table.add_row(self._row(i, mark), key=str(i + 1))
            self._marks.append(mark)
        self._hashes = new
        if len(new) != len(old):
            _settle_dimensions(table)
        if follow and new:
            table.move_cursor(row=len(new) - 1, animate=False)

    def _mark(self, index: int, shared: int, fork: int | None) -> str:
        """``index``'s marker: FORGED for a block of the last forgery, else as mark_of."""
        want = self._forged.get(index)
        if want is not None and index <= len(self._row_hashes):
            if self._row_hashes[index - 1] == want:
                return FORGED
        return mark_of(index, shared, fork)

    def show_forged(self, hashes: dict[int, str]) -> None:
        """Mark the blocks of a forgery (block index -> forged hash) wherever they are held."""
        if hashes == self._forged:
            return
        self._forged = dict(hashes)
        if not self._hashes:
            return
        table = self.table
        for i in range(len(self._hashes)):
            mark = self._mark(i + 1, self._shared, self._fork)
            if self._marks[i] != mark:
                self._marks[i] = mark
                table.update_cell(str(i + 1), "block", self._row(i, mark))

    def show_side(self, side: str | None) -> None:
        """The partition side this node is on (a letter), or None: one network."""
        if side != self.side:
            self.side = side
            if self.is_mounted:
                self._draw_header()

    def show_balances(self, items: tuple[tuple[str, Any, bool], ...] | None) -> None:
        """Each wallet's balance on this node: (wallet, amount or None, nodes agree)."""
        if items != self._balances:
            self._balances = items
            self.set_class(items is not None, "-wallets")
            if self.is_mounted:
                self._draw_extra()

    def _row(self, i: int, mark: str) -> Text:
        """Block ``i`` (0-based) of the last state shown, as one table cell."""
        block = self._rows[i]
        line = ROW_FORMAT.format(
            mark=mark,
            index=str(block.get("index", i + 1)),
            hash=short(self._row_hashes[i]),
            prev=short(str(block.get("previous_hash", ""))),
            nonce=str(block.get("nonce", "")),
            tx=len(block.get("transactions") or []),
        )
        text = Text(line, no_wrap=True, end="")
        text.stylize(MARK_STYLE[mark], 0, 1)
        return text

    def watch_mining(self) -> None:
        self.set_class(self.mining, "-mining")
        if self.is_mounted:
            self._draw_header()

    def _draw_header(self) -> None:
        state = self.state
        text = Text()
        if state is None:
            text.append("waiting for the first answer…", "dim")
        elif state.up:
            text.append("● up ", "bold green")
        else:
            text.append("✖ DOWN ", "bold red")
        text.append(self.url_text, "dim")
        if self.mining:
            text.append("  ⛏ mining…", "bold magenta")
        text.append("\n")
        if state is not None:
            seen = "" if state.up else "last seen: "
            text.append(f"{seen}len {state.length}  tip {short(state.tip)}")
            if state.up:
                text.append(f"  pool {len(state.mempool)}  peers {len(state.peers)}")
        flags = self._flags()
        self.set_class(bool(flags), "-flags")
        if flags:
            text.append("\n")
            text.append_text(flags)
        self.query_one("#header", Static).update(text, layout=False)  # height set by class

    def _flags(self) -> Text:
        """The header's third line: partition side, automine, latency, role (words, so they
        read without colour); empty when none applies."""
        state = self.state
        parts: list[tuple[str, str]] = []
        if self.side is not None:
            parts.append((f"side {self.side}", "bold reverse"))
        if state is not None and state.up:
            if state.automine:
                parts.append((f"auto {state.automine:g}s", "bold cyan"))
            if state.latency_ms or state.loss:
                lag = f"lag {state.latency_ms}ms"
                if state.loss:
                    lag += f" loss {state.loss:.0%}"
                parts.append((lag, "bold yellow"))
            if state.role != "honest":
                parts.append((state.role, "bold magenta"))
        text = Text()
        for i, (words, style) in enumerate(parts):
            if i:
                text.append("  ")
            text.append(words, style)
        return text

    def _draw_extra(self) -> None:
        state = self.state
        if state is None:
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        if not state.up:
            text.append(self.app.redact(state.error or "no answer"), "red")  # type: ignore[attr-defined]
            text.append("\n")
        pool = ", ".join(tx_text(tx) for tx in state.mempool) or "empty"
        text.append("mempool: ", "bold")
        text.append(pool)
        text.append("\n")
        text.append("peers: ", "bold")
        text.append(self.peer_text or "none")
        if self._balances is not None:
            text.append("\n")
            text.append("balances: ", "bold")
            for i, (wallet, amount, agree) in enumerate(self._balances):
                if i:
                    text.append("  ")
                shown = "?" if amount is None else number(amount)
                text.append(f"{wallet} {shown}", "" if agree else "bold red")
                if not agree:
                    text.append("≠", "bold red")  # the nodes disagree about this wallet
        self.query_one("#extra", Static).update(text, layout=False)  # height set by class

    # -- input -----------------------------------------------------------------------------
    def on_click(self) -> None:
        self.post_message(self.Chosen(self))

    def on_descendant_focus(self) -> None:
        self.post_message(self.Chosen(self))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.BlockChosen(self, int(event.row_key.value)))
