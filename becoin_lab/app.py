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
from becoin_lab.lab import Lab, NodeState
from becoin_lab.screens import BlockScreen, HelpScreen, TransactionScreen
from becoin_lab.widgets import Banner, NodePanel

T = TypeVar("T")
GC_FREEZE_BLOCKS = 2000  # at least this many blocks loaded: freeze them out of the GC
PANEL_MIN = 40  # columns: the chain table's six columns and a border

# What each action calls, in the blog's words, and the status a success answers with.
ENDPOINTS = {
    "connect": ("POST /connect_node", 201),
    "mine": ("GET /mine_block", 200),
    "transaction": ("POST /add_transaction", 201),
    "replace_chain": ("GET /replace_chain", 200),
    "validate": ("GET /is_valid", 200),
}


class LabScreen(Screen[None]):
    """The main screen. Node navigation lives here (priority) so modals keep their keys."""

    BINDINGS = [
        Binding("c", "app.connect", "Connect"),
        Binding("m", "app.mine", "Mine"),
        Binding("t", "app.transaction", "Tx"),
        Binding("r", "app.consensus", "Consensus"),
        Binding("v", "app.validate", "Validate"),
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
        Binding("ctrl+s", "screenshot", "SVG"),
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
        if not lab.started:
            lab.supervisor.progress = self._progress_from_thread

    # -- structure -------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[Any]:
        return LabScreen(self.names)

    @property
    def panels(self) -> list[NodePanel]:
        return list(self.screen_stack[0].query(NodePanel))

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
        key = (state.up, state.length, state.tip, state.mempool, state.peers, state.error)
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
        waiting = [n for n in self.names if n not in self.states]
        if waiting:
            self.banner.show_message(f"waiting for {', '.join(waiting)}…")
        else:
            self.banner.show_diff(self.network, len(self.names))
        if not waiting and not self._gc_settled:
            self._settle_gc()
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
        self.push_screen(TransactionScreen(name, lambda s, r, a: self._transaction(name, s, r, a)))

    def _transaction(self, name: str, sender: str, receiver: str, amount: Any) -> str:
        """Called by the form from its worker thread; returns the node's message."""
        try:
            result = self.lab.add_transaction(name, sender, receiver, amount)
        except LabError as exc:
            self.later(self._log_error, name, "transaction", exc)
            raise
        self.later(self._log_ok, name, "transaction", result.message)
        self.later(self.wake_all)
        return result.message

    def action_consensus(self) -> None:
        if self._can_act():
            self._each_node("replace_chain", lambda n: self.lab.replace_chain(n)[n].message)

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

    def _can_act(self) -> bool:
        if not self.ready:
            self.notify("the lab is not up yet", severity="warning")
        return self.ready

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
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
        self.log_pane.write(line)


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
