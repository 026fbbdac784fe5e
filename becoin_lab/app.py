"""The Textual lab: every node side by side, the differences live, the blog's steps on keys.

A view of :class:`becoin_lab.lab.Lab`, nothing more: it does no HTTP of its own. Each panel
polls its node through ``Lab.snapshot(name)`` from a thread worker; keys run Lab actions in
thread workers and log the nodes' answers. Only this module, ``widgets/`` and ``screens/``
import Textual.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, RichLog

from becoin_lab.config import LabConfig
from becoin_lab.diff import ChainDiff, common_prefix, diff_chains
from becoin_lab.errors import LabError, NodeDown, NodeError, StartError
from becoin_lab.lab import Forged, Lab, NodeState, Snapshot
from becoin_lab.screens import (
    BlockScreen,
    HelpScreen,
    LatencyScreen,
    PartitionScreen,
    TransactionScreen,
)
from becoin_lab.widgets import Banner, NodePanel
from becoin_lab.widgets.banner import side_letter, sides_text
from becoin_lab.widgets.node_panel import number

T = TypeVar("T")
GC_FREEZE_BLOCKS = 2000  # at least this many blocks loaded: freeze them out of the GC
PANEL_MIN = 40  # columns: the chain table's six columns and a border
AUTOMINE_EVERY = 2.0  # seconds between blocks when `a` turns automining on
TRAFFIC_RATE = 2.0  # transactions per second when `g` turns traffic on

# What each action calls, in the blog's words, and the status a success answers with
# (process actions are signals from the lab's supervisor, not HTTP: their word instead).
ENDPOINTS: dict[str, tuple[str, int | str]] = {
    "connect": ("POST /connect_node", 201),
    "mine": ("GET /mine_block", 200),
    "transaction": ("POST /add_transaction", 201),
    "replace_chain": ("GET /replace_chain", 200),
    "validate": ("GET /is_valid", 200),
    "stop": ("stop (SIGTERM)", "done"),
    "kill": ("kill (SIGKILL)", "done"),
    "start": ("start", "up"),
    "restart": ("restart (SIGTERM, start)", "up"),
    "partition": ("POST /admin/partition", 200),
    "heal": ("POST /admin/partition (heal)", 200),
    "latency": ("POST /admin/latency", 200),
    "automine": ("POST /admin/automine", 200),
    "forge": ("POST /admin/forge", 200),
    "traffic": ("traffic generator", "ok"),
    "balances": ("balances (from GET /get_chain)", "ok"),
}


class LabScreen(Screen[None]):
    """The main screen. Node navigation lives here (priority) so modals keep their keys."""

    BINDINGS = [
        Binding("c", "app.connect", "Connect"),
        Binding("m", "app.mine", "Mine"),
        Binding("t", "app.transaction", "Tx"),
        Binding("r", "app.consensus", "Consensus"),
        Binding("v", "app.validate", "Validate"),
        Binding("k", "app.stop_node", "Stop"),
        Binding("s", "app.start_node", "Start"),
        Binding("a", "app.automine", "Automine"),
        Binding("p", "app.isolate", "Cut"),
        Binding("h", "app.heal", "Heal"),
        Binding("l", "app.latency", "Latency"),
        Binding("g", "app.traffic", "Traffic"),
        Binding("f", "app.forge", "Forge"),
        Binding("b", "app.balances", "Balances", show=False),  # palette and help
        Binding("right", "app.select_step(1)", "Next node", show=False, priority=True),
        Binding("left", "app.select_step(-1)", "Previous node", show=False, priority=True),
        Binding("tab", "app.select_step(1)", "Next node", show=False, priority=True),
        Binding("shift+tab", "app.select_step(-1)", "Previous node", show=False, priority=True),
        *[Binding(str(i), f"app.select({i - 1})", f"Node {i}", show=False) for i in range(1, 10)],
    ]

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def compose(self) -> ComposeResult:
        yield Banner("starting the lab…", id="banner")
        with HorizontalScroll(id="panels"):
            for i, name in enumerate(self.names, 1):
                yield NodePanel(name, i)
        log = RichLog(id="log", markup=False, highlight=False, wrap=True, max_lines=2000)
        log.border_title = "log: each action, the node, its HTTP status and answer"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.app.screen_ready()  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        """Share the width between panels; past PANEL_MIN columns each, they scroll."""
        panels = list(self.query(NodePanel))
        if not panels:
            return
        width = self.query_one("#panels").size.width or self.size.width
        each = max(PANEL_MIN, width // len(panels))
        for i, panel in enumerate(panels):
            extra = 1 if each * len(panels) < width and i < width - each * len(panels) else 0
            panel.styles.width = each + extra


class Later(Message):
    """A call for the UI thread, posted from a worker thread (see LabApp.later)."""

    def __init__(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.call = call
        self.args = args
        super().__init__()


class LabApp(App[None]):
    """BeCoin Lab in the terminal.

    ``redact_urls`` shows ``host:<node>`` instead of ports (ports differ between runs, so
    snapshot tests turn it on); ``poll_interval`` is how often each panel asks its node.
    """

    CSS_PATH = "lab.tcss"
    TITLE = "BeCoin Lab"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+s", "screenshot", "SVG", show=False),  # palette and help: room for q
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        lab: Lab,
        *,
        poll_interval: float = 0.5,
        redact_urls: bool = False,
        screenshot_dir: str | Path | None = None,
        poll: bool = True,
        handle_signals: bool = False,
        stop_on_exit: bool = False,
    ) -> None:
        super().__init__()
        self.lab = lab
        self.names = list(lab.names)  # lab.toml order
        self.poll_interval = poll_interval
        self.redact_urls = redact_urls
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self.polling = poll
        self.handle_signals = handle_signals
        self.stop_on_exit = stop_on_exit
        self.states: dict[str, NodeState] = {}
        self.selected = 0
        self.network: ChainDiff | None = None
        self.ready = False  # the lab is up and the panels poll
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._errors: dict[str, str] = {}
        self._gc_settled = False
        self.wallet_keys: dict[str, str] = {}  # wallet name -> public key (lab.toml order)
        self._balances: dict[str, tuple[str, dict[str, Any]]] = {}  # node -> (tip, balances)
        self.sides: list[list[str]] = []  # the partition as the nodes report it; [] healed
        self._forgery: Forged | None = None  # the forgery the panels mark
        self._traffic_timer: Any = None
        self._panel_cache: tuple[Screen[Any], list[NodePanel]] | None = None
        if not lab.started:
            lab.supervisor.progress = self._progress_from_thread

    # -- structure -------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[Any]:
        return LabScreen(self.names)

    @property
    def panels(self) -> list[NodePanel]:
        """The panels in lab.toml order (found once: a query per state change adds up)."""
        screen = self.screen_stack[0]
        cached = self._panel_cache
        if cached is not None and cached[0] is screen:
            return list(cached[1])
        panels = list(screen.query(NodePanel))
        if len(panels) == len(self.names):
            self._panel_cache = (screen, panels)
        return list(panels)

    def panel(self, name: str) -> NodePanel:
        return self.screen_stack[0].query_one(f"#panel-{name}", NodePanel)

    @property
    def selected_node(self) -> str:
        return self.names[self.selected]

    @property
    def banner(self) -> Banner:
        return self.screen_stack[0].query_one("#banner", Banner)

    @property
    def log_pane(self) -> RichLog:
        return self.screen_stack[0].query_one("#log", RichLog)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Connect all nodes", "c: POST /connect_node on every node", self.action_connect
        )
        yield SystemCommand(
            "Mine a block", "m: GET /mine_block on the selected node", self.action_mine
        )
        yield SystemCommand(
            "Post a transaction",
            "t: POST /add_transaction to the selected node",
            self.action_transaction,
        )
        yield SystemCommand(
            "Consensus round", "r: GET /replace_chain on every node", self.action_consensus
        )
        yield SystemCommand(
            "Validate chains", "v: GET /is_valid on every node", self.action_validate
        )
        yield SystemCommand(
            "Stop the node",
            "k: SIGTERM the selected node; its chain stays on disk",
            self.action_stop_node,
        )
        yield SystemCommand(
            "Start the node",
            "s: start the selected node again, its chain from disk",
            self.action_start_node,
        )
        yield SystemCommand(
            "Kill the node (SIGKILL)",
            "a crash: the selected node gets no time to tidy up",
            self.action_kill_node,
        )
        yield SystemCommand(
            "Restart the node", "stop then start the selected node", self.action_restart_node
        )
        yield SystemCommand(
            "Partition: isolate the selected node",
            "p: POST /admin/partition on every node: the selected node alone | the rest",
            self.action_isolate,
        )
        yield SystemCommand(
            "Partition into groups…",
            "POST /admin/partition: type the groups, e.g. node1 node2 | node3",
            self.action_partition,
        )
        yield SystemCommand(
            "Heal the partition", "h: POST /admin/partition [] on every node", self.action_heal
        )
        yield SystemCommand(
            "Latency and loss…",
            "l: POST /admin/latency on the selected node",
            self.action_latency,
        )
        yield SystemCommand(
            "Toggle automining",
            f"a: POST /admin/automine: the selected node mines every "
            f"{AUTOMINE_EVERY:g} s, or stops",
            self.action_automine,
        )
        yield SystemCommand(
            "Toggle traffic",
            f"g: random transactions, {TRAFFIC_RATE:g} per second, to nodes "
            "that are up (POST /add_transaction)",
            self.action_traffic,
        )
        for forger in self._forgers():
            yield SystemCommand(
                f"Forge with {forger}",
                "f: POST /admin/forge: rewrite an honest chain, "
                "no work redone, and offer it to the peers",
                lambda f=forger: self.forge(f),
            )
        yield SystemCommand(
            "Show balances",
            "b: every address's balance on every node, in the log",
            self.action_balances,
        )
        yield SystemCommand(
            "Keys and endpoints", "?: what each key does, in the blog's words", self.action_help
        )
        yield SystemCommand("Save SVG screenshot", "ctrl+s", self.action_screenshot)
        for i, name in enumerate(self.names):
            yield SystemCommand(
                f"Select {name}", f"{i + 1}: act on {name}", lambda i=i: self.action_select(i)
            )

    # -- start-up --------------------------------------------------------------------------
    def screen_ready(self) -> None:
        """The main screen and its panels are mounted: start the lab or start polling."""
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._on_signal, sig)
        self.select(0)
        if self.lab.started:
            self._begin()
        else:
            self.run_worker(self._start_lab, thread=True, group="start", exit_on_error=False)

    def _on_signal(self, sig: int) -> None:
        self.exit(return_code=128 + sig)

    def on_unmount(self) -> None:
        """Stop the nodes before the app waits for its worker threads: a thread blocked on a
        node (mining at a high difficulty, say) then ends at once instead of holding the exit."""
        if self.stop_on_exit:
            self.lab.stop()

    def later(self, call: Callable[..., Any], *args: Any) -> None:
        """From a worker thread: run ``call(*args)`` on the UI thread, without waiting.

        Unlike call_from_thread it never blocks, so a worker finishing while the app exits
        cannot hang the exit (asyncio waits for every worker thread)."""
        self.post_message(Later(call, args))

    @on(Later)
    def _later(self, message: Later) -> None:
        message.call(*message.args)

    def _progress_from_thread(self, up: int, total: int, name: str) -> None:
        self.later(self._starting, f"starting nodes: {up}/{total} up ({name})")

    def _starting(self, words: str) -> None:
        self.banner.show_message(words)

    def _start_lab(self) -> None:
        self.later(self._starting, f"starting {len(self.names)} nodes…")
        try:
            self.lab.start()
        except (StartError, LabError) as exc:
            self.later(self._start_failed, exc)
            return
        self.later(self._begin)

    def _start_failed(self, exc: LabError) -> None:
        self.banner.show_message(f"the lab did not start: {self.redact(str(exc))}", "down")
        self.write_log(None, "start", "failed", str(exc), False)
        for name, reason in getattr(exc, "failures", {}).items():
            last = reason.strip().splitlines()[-1:] or [""]
            self.write_log(name, "start", "failed", last[0], False)

    def _begin(self) -> None:
        self.ready = True
        cfg = self.lab.config
        words = f"{len(cfg.nodes)} nodes, difficulty {cfg.difficulty}; press ? for the keys"
        self.write_log(None, "ready:", "up", words, True)
        try:
            self.wallet_keys = self.lab.wallet_keys()
        except LabError as exc:
            self.write_log(None, "wallets", "error", str(exc), False)
        self.refresh_bindings()
        for panel in self.panels:
            panel.url_text = self.redact(self.lab.clients[panel.node].url)
            if self.polling:
                panel.start_polling(self.poll_interval)
        if self.polling and self.lab.supervisor.nodes:
            self.run_worker(
                self._watch_deaths, thread=True, group="deaths", exclusive=True, exit_on_error=False
            )

    def _watch_deaths(self) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        while not worker.is_cancelled:
            for death in self.lab.deaths():
                self.later(
                    self.write_log, death.name, "process", "exited", _death_words(death), False
                )
            worker_sleep(worker, 1.0)

    # -- live state ------------------------------------------------------------------------
    @on(NodePanel.Polled)
    def _polled(self, event: NodePanel.Polled) -> None:
        self.apply_state(event.state)

    @on(NodePanel.PollFailed)
    def _poll_failed(self, event: NodePanel.PollFailed) -> None:
        words = str(event.error)
        if self._errors.get(event.panel.node) != words:
            self._errors[event.panel.node] = words
            self.write_log(event.panel.node, "poll", "error", words, False)

    def apply_state(self, state: NodeState) -> None:
        """Show one node's new state; re-mark every panel if the network changed."""
        key = (
            state.up,
            state.length,
            state.tip,
            state.mempool,
            state.peers,
            state.error,
            state.automine,
            state.latency_ms,
            state.loss,
            state.blocked,
            state.role,
        )
        if self._seen.get(state.name) == key:
            return
        before = self._seen.get(state.name)
        self._seen[state.name] = key
        self.states[state.name] = state
        if before is not None and before[0] != state.up:
            if state.up:
                self.write_log(state.name, "status", "up", "answers again", True)
            else:
                self.write_log(state.name, "status", "down", state.error or "no answer", False)
        elif before is None and not state.up:
            self.write_log(state.name, "status", "down", state.error or "no answer", False)
        self.network = diff_chains(  # in lab.toml order, whichever poll came first
            {n: (s.hashes if s.up else None) for n in self.names if (s := self.states.get(n))}
        )
        snap = Snapshot({n: self.states[n] for n in self.names if n in self.states})
        self.sides = snap.partition
        waiting = [n for n in self.names if n not in self.states]
        self.draw_banner()
        if not waiting and not self._gc_settled:
            self._settle_gc()
        self.show_forgery()
        for panel in self.panels:
            side = snap.side(panel.node) if self.sides else None
            panel.show_side(None if side is None else side_letter(side))
        self._show_balances(state)
        names = self._names_by_netloc()
        for panel in self.panels:
            other = self.states.get(panel.node)
            if other is None:
                continue
            shared, fork = self._marks_for(other)
            if panel.node == state.name:
                panel.url_text = self.redact(state.url)
                panel.peer_text = ", ".join(  # sorted: a node's peer set has no order
                    sorted(names.get(_netloc(p), self.redact(p)) for p in state.peers)
                )
                panel.show_state(state, shared, fork)
            else:
                panel.show_marks(shared, fork)

    def draw_banner(self) -> None:
        """The banner from the last states: partition, agreement, forgery, traffic."""
        waiting = [n for n in self.names if n not in self.states]
        if waiting or self.network is None:
            self.banner.show_message(f"waiting for {', '.join(waiting)}…")
            return
        notes = [n for n in (self._forgery_words(), self._traffic_words()) if n]
        self.banner.show_diff(self.network, len(self.names), self.sides, notes)

    def show_forgery(self) -> None:
        """Mark the last forgery's blocks in every panel (once per forgery)."""
        if self.lab.forgery is self._forgery:
            return
        self._forgery = self.lab.forgery
        for panel in self.panels:
            panel.show_forged(self._forgery.hashes if self._forgery else {})
        self.draw_banner()

    def _forgery_words(self) -> str:
        """Whose chain won since the last forgery: the forged one, or the honest one."""
        forged = self._forgery
        if forged is None:
            return ""
        up = [s for n in self.names if (s := self.states.get(n)) is not None and s.up]
        holders = [s.name for s in up if forged.held_by(s)]
        others = [s.name for s in up if s.name not in holders]
        if not holders:
            return "forged chain gone: no node holds it"
        if not others:
            return "forged chain won: every node holds it"
        if holders == [forged.forger]:
            return f"forged chain refused: only {forged.forger} holds it"
        return f"forged chain held by {', '.join(holders)}; not by {', '.join(others)}"

    def _traffic_words(self) -> str:
        stats = self.lab.traffic_stats()
        if not stats.running:
            return ""
        failed = f", {stats.failed} refused" if stats.failed else ""
        return f"traffic {stats.rate:g}/s: {stats.acknowledged} sent{failed}"

    def _show_balances(self, state: NodeState) -> None:
        """Each wallet's balance in each panel, marked where the nodes that answer disagree
        (a down node shows its last known chain's and does not count)."""
        if not self.wallet_keys:
            return
        cached = self._balances.get(state.name)
        if cached is None or cached[0] != state.tip:
            try:
                self._balances[state.name] = (state.tip, state.balances())
            except Exception as exc:  # noqa: BLE001 - a chain the rules cannot read: say so
                self._balances[state.name] = (state.tip, {})
                self.write_log(state.name, "balances", "error", str(exc), False)
        values = {
            w: {n: b.get(key, 0) for n, (_, b) in self._balances.items()}
            for w, key in self.wallet_keys.items()
        }
        agree = {
            w: len({v for n, v in per.items() if self.states[n].up}) <= 1
            for w, per in values.items()
        }
        for panel in self.panels:
            if panel.node in self._balances:
                panel.show_balances(
                    tuple((w, per.get(panel.node), agree[w]) for w, per in values.items())
                )

    def _settle_gc(self) -> None:
        """Once every node's chain is loaded, move it out of the collector's way.

        Long chains are many long-lived objects (blocks, rows); without this every full
        collection walks them all and stalls a frame (see benchmarks/bench_tui.py)."""
        self._gc_settled = True
        if sum(s.length for s in self.states.values()) >= GC_FREEZE_BLOCKS:
            gc.collect()
            gc.freeze()

    def _marks_for(self, state: NodeState) -> tuple[int, int | None]:
        network = self.network
        if network is None or not network.groups:
            return 0, None
        if state.up:
            return min(network.common_prefix, state.length), network.fork_point
        reference = self.states[network.groups[0][0]].hashes
        return common_prefix(state.hashes, reference), None

    def _names_by_netloc(self) -> dict[str, str]:
        return {_netloc(c.url): name for name, c in self.lab.clients.items()}

    def redact(self, text: str) -> str:
        """With ``redact_urls``, each node's host:port reads host:<name> (ports vary by run)."""
        if not self.redact_urls:
            return text
        for name, client in self.lab.clients.items():
            netloc = _netloc(client.url)
            host = netloc.rsplit(":", 1)[0]
            text = text.replace(netloc, f"{host}:<{name}>")
        return text

    def wake_all(self) -> None:
        for panel in self.panels:
            panel.wake()

    # -- selection -------------------------------------------------------------------------
    def select(self, index: int, focus: bool = True) -> None:
        if not self.names:
            return
        self.selected = index % len(self.names)
        for i, panel in enumerate(self.panels):
            panel.set_class(i == self.selected, "-selected")
        panel = self.panels[self.selected]
        self.screen_stack[0].query_one("#panels").scroll_to_widget(panel, animate=False)
        if focus and self.screen is self.screen_stack[0]:
            panel.table.focus(scroll_visible=False)
        self.refresh_bindings()  # `f` is enabled on a forger only

    def action_select(self, index: int) -> None:
        if index < len(self.names):
            self.select(index)

    def action_select_step(self, step: int) -> None:
        self.select(self.selected + step)

    @on(NodePanel.Chosen)
    def _chosen(self, event: NodePanel.Chosen) -> None:
        index = self.names.index(event.panel.node)
        if index != self.selected:
            self.select(index, focus=False)

    @on(NodePanel.BlockChosen)
    def _block_chosen(self, event: NodePanel.BlockChosen) -> None:
        state = event.panel.state
        if state is None or not 1 <= event.index <= state.length:
            return
        i = event.index - 1
        self.push_screen(BlockScreen(state.name, state.chain[i], state.hashes[i]))

    # -- actions ---------------------------------------------------------------------------
    def _up_names(self) -> list[str]:
        return [n for n in self.names if n not in self.states or self.states[n].up]

    def action_connect(self) -> None:
        if not self._can_act():
            return
        names = self._up_names()
        down = [n for n in self.names if n not in names]
        if len(names) < 2:
            self.write_log(None, "connect", "skipped", "needs at least two nodes up", False)
            return
        if down:
            self.write_log(
                None,
                "connect",
                "note",
                f"{', '.join(down)} down: connecting {', '.join(names)}",
                False,
            )
        self.run_worker(
            lambda: self._connect(names), thread=True, group="connect", exit_on_error=False
        )

    def _connect(self, names: list[str]) -> None:
        try:
            peers = self.lab.connect(names)
        except LabError as exc:
            self.later(self._log_error, None, "connect", exc)
        else:
            by_netloc = self._names_by_netloc()
            for name in names:
                known = ", ".join(by_netloc.get(_netloc(p), p) for p in peers[name])
                self.later(self._log_ok, name, "connect", f"peers: {known} ({len(peers[name])})")
        self.later(self.wake_all)

    def action_mine(self) -> None:
        if not self._can_act():
            return
        name = self.selected_node
        panel = self.panel(name)
        if panel.mining:
            self.write_log(name, "mine", "busy", "already mining; wait for the block", False)
            return
        panel.mining = True
        self.run_worker(
            lambda: self._mine(name), thread=True, group=f"mine-{name}", exit_on_error=False
        )

    def _mine(self, name: str) -> None:
        try:
            result = self.lab.mine(name)[0]
        except LabError as exc:
            self.later(self._log_error, name, "mine", exc)
        else:
            self.later(self._log_ok, name, "mine", f"{result.message} (block {result.index})")
        self.later(self._mined, name)

    def _mined(self, name: str) -> None:
        self.panel(name).mining = False
        self.wake_all()

    def action_transaction(self) -> None:
        if not self._can_act():
            return
        name = self.selected_node
        wallets = list(self.wallet_keys)
        state = self.states.get(name)
        strict = (state.rules if state else self.lab.config.rules_of(name)) == "strict"
        default = wallets[0] if wallets and strict else None  # strict nodes want signatures
        self.push_screen(
            TransactionScreen(
                name, lambda s, r, a, w: self._transaction(name, s, r, a, w), wallets, default
            )
        )

    def _transaction(
        self, name: str, sender: str, receiver: str, amount: Any, wallet: str | None = None
    ) -> str:
        """Called by the form from its worker thread; returns the node's message."""
        try:
            if wallet:
                result = self.lab.add_transaction(
                    name, receiver=receiver, amount=amount, wallet=wallet
                )
            else:
                result = self.lab.add_transaction(name, sender, receiver, amount)
        except LabError as exc:
            self.later(self._log_error, name, "transaction", exc)
            raise
        signed = f" (signed by {wallet})" if wallet else ""
        self.later(self._log_ok, name, "transaction", result.message + signed)
        self.later(self.wake_all)
        return result.message

    def action_consensus(self) -> None:
        if self._can_act():
            self._each_node("replace_chain", self._replace_chain)

    def _replace_chain(self, name: str) -> str:
        """replace_chain on one node: its message, and every peer chain it refused and why."""
        result = self.lab.replace_chain(name)[name]
        owners = self.lab._netloc_owners()
        words = [result.message]
        for outcome in result.peers.values():
            if not isinstance(outcome, dict):
                continue
            peer = str(outcome.get("peer", "?"))
            if outcome.get("outcome") == "invalid":
                words.append(f"refused {owners.get(peer, peer)}'s chain: {outcome.get('detail')}")
            elif outcome.get("outcome") == "failed":
                words.append(f"no answer from {owners.get(peer, peer)}: {outcome.get('detail')}")
        return "; ".join(words)

    def action_validate(self) -> None:
        if self._can_act():
            self._each_node("validate", lambda n: self.lab.validate(n)[n].message)

    def _each_node(self, action: str, call: Callable[[str], str]) -> None:
        names = self._up_names()
        for name in self.names:
            if name not in names:
                self.write_log(name, action, "skipped", "down", False)

        def work() -> None:
            with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
                futures = {n: pool.submit(call, n) for n in names}
                for name, future in futures.items():  # lab.toml order: a stable log
                    try:
                        message = future.result()
                    except LabError as exc:
                        self.later(self._log_error, name, action, exc)
                    else:
                        self.later(self._log_ok, name, action, message)
            self.later(self.wake_all)

        self.run_worker(work, thread=True, group=action, exit_on_error=False)

    # -- faults, autopilot, forger (Lab calls in thread workers; errors go to the log) -----
    def lab_call(
        self,
        node: str | None,
        action: str,
        call: Callable[[], T],
        words: Callable[[T], str],
        then: Callable[[], None] | None = None,
    ) -> None:
        """Run ``call`` in a worker; log ``words(result)`` or the error, never fatal."""
        if not self._can_act():
            return

        def work() -> None:
            try:
                result = call()
            except LabError as exc:
                self.later(self._log_error, node, action, exc)
            except Exception as exc:  # noqa: BLE001 - shown in the log, never fatal
                self.later(self.write_log, node, action, "error", str(exc), False)
            else:
                self.later(self._log_ok, node, action, words(result))
            if then is not None:
                self.later(then)
            self.later(self.wake_all)

        self.run_worker(work, thread=True, group=f"{action}-{node}", exit_on_error=False)

    def action_stop_node(self) -> None:
        name = self.selected_node
        self.lab_call(
            name,
            "stop",
            lambda: self.lab.stop_node(name),
            lambda _: "stopped; its chain and mempool stay on disk (s starts it)",
        )

    def action_kill_node(self) -> None:
        name = self.selected_node
        self.lab_call(
            name,
            "kill",
            lambda: self.lab.kill_node(name),
            lambda _: "killed: a crash, no time to tidy up (s starts it from disk)",
        )

    def action_start_node(self) -> None:
        name = self.selected_node
        self.lab_call(
            name,
            "start",
            lambda: self.lab.start_node(name),
            lambda url: f"answers at {url}; chain and mempool from its disk",
        )

    def action_restart_node(self) -> None:
        name = self.selected_node
        self.lab_call(
            name,
            "restart",
            lambda: self.lab.restart_node(name),
            lambda url: f"answers again at {url}; chain and mempool from its disk",
        )

    def action_isolate(self) -> None:
        """The selected node alone on one side, every other node on the other."""
        name = self.selected_node
        if len(self.names) < 2:
            self.write_log(name, "partition", "skipped", "needs at least two nodes", False)
            return
        self.partition([[name], [n for n in self.names if n != name]])

    def action_partition(self) -> None:
        if not self._can_act():
            return
        groups = self.lab.partition_groups or [
            [self.selected_node],
            [n for n in self.names if n != self.selected_node],
        ]
        self.push_screen(PartitionScreen(self.names, groups), self._partition_chosen)

    def _partition_chosen(self, groups: object) -> None:
        if isinstance(groups, list):
            self.partition(groups)

    def partition(self, groups: list[list[str]]) -> None:
        self.lab_call(
            None,
            "partition",
            lambda: self.lab.partition(groups),
            lambda _: (
                f"cut {sides_text(groups)}: peer traffic across it refused, "
                "both ways; a consensus round sees only its side"
            ),
        )

    def action_heal(self) -> None:
        self.lab_call(
            None,
            "heal",
            self.lab.heal,
            lambda _: "one network again: every node takes every peer's traffic",
        )

    def action_latency(self) -> None:
        if not self._can_act():
            return
        name = self.selected_node
        state = self.states.get(name)
        ms, loss = (state.latency_ms, state.loss) if state else (0, 0.0)
        self.push_screen(LatencyScreen(name, ms, loss), lambda v: self._latency_chosen(name, v))

    def _latency_chosen(self, name: str, values: object) -> None:
        if not isinstance(values, tuple):
            return
        ms, loss = values
        words = (
            f"peer calls to and from it wait {ms} ms, {loss:.0%} of them fail"
            if ms or loss
            else "its links are fast again"
        )
        self.lab_call(name, "latency", lambda: self.lab.latency(name, ms, loss), lambda _: words)

    def action_automine(self) -> None:
        name = self.selected_node
        state = self.states.get(name)
        on = not (state and state.automine)
        words = (
            f"mines a block every {AUTOMINE_EVERY:g} s by itself (a to stop)"
            if on
            else "automining stopped"
        )
        self.lab_call(
            name,
            "automine",
            lambda: self.lab.automine(name, AUTOMINE_EVERY if on else None, on),
            lambda _: words,
        )

    def action_traffic(self) -> None:
        on = not self.lab.traffic_stats().running
        strict = any(self.lab.config.rules_of(n) == "strict" for n in self.names)
        words = (
            f"on: {TRAFFIC_RATE:g} random transactions per second to nodes that are up"
            + (" (unsigned: strict nodes refuse them)" if strict else "")
            if on
            else "off"
        )

        def call() -> object:
            return self.lab.traffic(rate=TRAFFIC_RATE, on=on)

        self.lab_call(None, "traffic", call, lambda _: words, then=self._traffic_changed)

    def _traffic_changed(self) -> None:
        running = self.lab.traffic_stats().running
        if running and self._traffic_timer is None:
            self._traffic_timer = self.set_interval(1.0, self.draw_banner)
        elif not running and self._traffic_timer is not None:
            self._traffic_timer.stop()
            self._traffic_timer = None
        self.draw_banner()

    def _forgers(self) -> list[str]:
        def role(name: str) -> str:
            state = self.states.get(name)
            return state.role if state and state.up else self.lab.config.role_of(name)

        return [n for n in self.names if role(n) == "forger"]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`f` shows only in a lab with a forger, enabled while a forger is selected."""
        if action == "forge":
            forgers = self._forgers()
            if not forgers:
                return False
            return True if self.names and self.selected_node in forgers else None
        return True

    def action_forge(self) -> None:
        name = self.selected_node
        if name not in self._forgers():
            self.write_log(
                name, "forge", "skipped", 'not a forger: select a node with role = "forger"', False
            )
            return
        self.forge(name)

    def forge(self, forger: str) -> None:
        def words(forged: Forged) -> str:
            r = forged.result
            changed = ", ".join(str(i) for i in r.changed)
            return (
                f"{r.message} — rewrote block {r.rewritten} of {forged.victim}'s chain, "
                f"re-linked blocks {changed} with no work redone (marked !), length "
                f"{r.length}, offered to its peers"
            )

        self.lab_call(forger, "forge", lambda: self.lab.forge(forger), words, self.show_forgery)

    def action_balances(self) -> None:
        """Every address's balance on every node, by its rules, in the log."""
        states = [self.states[n] for n in self.names if n in self.states]
        names = {key: w for w, key in self.wallet_keys.items()}

        def work() -> None:
            for state in states:
                try:
                    pairs = state.balances().items()
                except Exception as exc:  # noqa: BLE001 - shown in the log, never fatal
                    self.later(self.write_log, state.name, "balances", "error", str(exc), False)
                    continue
                shown = ", ".join(f"{names.get(a, _short_address(a))} {number(v)}"
                                  for a, v in pairs) or "no coins yet"  # fmt: skip
                stale = "" if state.up else " (down: last seen)"
                self.later(self._log_ok, state.name, "balances", f"{state.rules}: {shown}{stale}")

        if self._can_act():
            self.run_worker(work, thread=True, group="balances", exit_on_error=False)

    def _can_act(self) -> bool:
        if getattr(self, "_exit", False):  # quitting: keys typed after q do nothing
            return False
        if not self.ready:
            self.notify("the lab is not up yet", severity="warning")
        return self.ready

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen) and not getattr(self, "_exit", False):
            self.push_screen(HelpScreen())

    def action_screenshot(self) -> None:
        path = self.save_screenshot(path=str(self.screenshot_dir) if self.screenshot_dir else None)
        self.write_log(None, "screenshot", "saved", path, True)

    async def action_quit(self) -> None:
        self.exit()

    # -- the log pane ----------------------------------------------------------------------
    def _log_ok(self, node: str | None, action: str, message: str) -> None:
        endpoint, status = ENDPOINTS.get(action, (action, 200))
        self.write_log(node, endpoint, str(status), message, True)

    def _log_error(self, node: str | None, action: str, exc: LabError) -> None:
        endpoint, _ = ENDPOINTS.get(action, (action, 0))
        if isinstance(exc, NodeDown):
            status, words = "down", exc.detail
        elif isinstance(exc, NodeError):
            status = str(exc.status) if exc.status else "error"
            words = exc.detail
        else:
            status, words = "error", str(exc)
        self.write_log(node, endpoint, status, words, False)

    def write_log(self, node: str | None, what: str, status: str, message: str, ok: bool) -> None:
        line = Text()
        line.append(f"{node or 'lab':<6} ", "bold cyan" if node else "bold")
        line.append(f"{what} ")
        line.append(f"{status}", "green" if ok else "bold red")
        line.append(" " + self.redact(message))
        pane = self.log_pane
        width = pane.scrollable_content_region.width  # wrap at the pane, however wide
        pane.write(line, width=width if width >= 20 else None)


def _death_words(death: Any) -> str:
    """How a node's process ended, in words (the node.log beside its data has the rest)."""
    code = death.returncode
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    return f"{how} (not by the lab); its log: node.log in its data folder"


def _short_address(address: str) -> str:
    """A long key or uuid address, shortened for the log; a name as it is."""
    return address if len(address) <= 16 else address[:8] + "…"


def _netloc(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def worker_sleep(worker: Any, seconds: float) -> None:
    """Sleep in small steps so a cancelled worker ends soon."""
    import time

    deadline = time.monotonic() + seconds
    while not worker.is_cancelled and time.monotonic() < deadline:
        time.sleep(0.05)


def run_tui(config: LabConfig, **options: Any) -> int:
    """`becoin-lab`: start the lab in the UI; every node stops however the app ends."""
    lab = Lab(config)
    app = LabApp(lab, handle_signals=True, stop_on_exit=True, **options)
    try:
        app.run()
    finally:
        lab.close()
    return int(app.return_code or 0)
