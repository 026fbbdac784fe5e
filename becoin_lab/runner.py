"""The headless runner: play a Script against a Lab, one line per step, checks included."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from becoin_lab.client import TxResult
from becoin_lab.errors import LabError, NodeDown, NodeError
from becoin_lab.lab import Lab, Snapshot
from becoin_lab.report import chain_table, nodes_json, short
from becoin_lab.script import CHAIN_CHANGING, DEFAULT_WAIT, Script, Step
from becoin_lab.supervisor import Death

OK, FAIL, ERROR, SKIP = "ok", "FAIL", "ERROR", "skip"


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold."""

    node: str | None
    key: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        who = f"{self.node}: " if self.node else ""
        return f"{who}{self.key} expected {_fmt(self.expected)}, got {_fmt(self.actual)}"


@dataclass
class StepResult:
    step: Step
    status: str
    elapsed: float = 0.0
    detail: str = ""
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    state: list[str] = field(default_factory=list)  # a failed wait: the last state it saw

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step.number,
            "do": self.step.do,
            "args": self.step.args,
            "note": self.step.note,
            "status": self.status,
            "elapsed": round(self.elapsed, 4),
            "detail": self.detail,
            "failures": [
                {"node": f.node, "key": f.key, "expected": f.expected, "actual": f.actual}
                for f in self.failures
            ],
            "error": self.error,
            "state": self.state,
        }


@dataclass
class RunReport:
    results: list[StepResult] = field(default_factory=list)
    deaths: list[Death] = field(default_factory=list)
    final: Snapshot | None = None
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted and not self.deaths and all(r.status == OK for r in self.results)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        final = self.final
        d = final.diff() if final else None
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "elapsed": round(self.elapsed, 4),
            "interrupted": self.interrupted,
            "steps": [r.to_json() for r in self.results],
            "deaths": [
                {"node": x.name, "returncode": x.returncode, "log_tail": x.log_tail}
                for x in self.deaths
            ],
            "nodes": nodes_json(final, d) if final else [],
            "consensus": d.consensus if d else None,
        }


class Runner:
    """Runs steps in order. An expectation that fails is reported and the run goes on;
    an action that fails (a node error) ends the run and the remaining steps are skipped."""

    def __init__(
        self,
        lab: Lab,
        script: Script,
        out: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.lab = lab
        self.script = script
        self.out = out or sys.stdout
        self.sleep = sleep
        self.report = RunReport()
        self.last_snapshot: Snapshot | None = None  # the state the last check looked at

    def print(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def run(self) -> RunReport:
        began = time.monotonic()
        report = self.report
        try:
            for i, step in enumerate(self.script.steps):
                result = self.run_step(step)
                report.results.append(result)
                self._print_result(result)
                self._check_deaths()
                if result.status == OK and step.do in CHAIN_CHANGING:
                    self._table()
                if result.status == ERROR:
                    for rest in self.script.steps[i + 1 :]:
                        skipped = StepResult(rest, SKIP, detail="not run after the error")
                        report.results.append(skipped)
                        self._print_result(skipped)
                    break
        except KeyboardInterrupt:
            report.interrupted = True
            raise
        finally:
            report.elapsed = time.monotonic() - began
        try:
            report.final = self.lab.snapshot()
        except LabError:
            report.final = None
        self._summary()
        return report

    def run_step(self, step: Step) -> StepResult:
        began = time.monotonic()
        result = StepResult(step, OK)
        try:
            if step.do == "expect":
                result.failures = self.evaluate(step)
                result.status = FAIL if result.failures else OK
            elif step.do == "wait":
                self.wait(step, result, began)
            elif "expect_refused" in step.args:
                self.refusal(step, result)
            else:
                result.detail = self.act(step)
        except LabError as exc:
            result.status, result.error = ERROR, str(exc)
        result.elapsed = time.monotonic() - began
        return result

    # -- actions ---------------------------------------------------------------------------
    def act(self, step: Step) -> str:
        lab, a = self.lab, step.args
        match step.do:
            case "connect":
                peers = lab.connect(a.get("nodes"))
                links = sum(len(p) for p in peers.values())
                return f"{len(peers)} nodes, {links} links"
            case "mine":
                count = a.get("count", 1)
                if a["node"] == "all":
                    mined = lab.mine_each("all", count)
                    return ", ".join(f"{n} #{r[-1].index}" for n, r in mined.items())
                results = lab.mine(a["node"], count)
                first, last = results[0].index, results[-1].index
                where = f"block {last}" if first == last else f"blocks {first}-{last}"
                return f"{where} {short(lab.link_hash(a['node'], results[-1].block))}"
            case "add_transaction" | "resend":
                tx = self._send(step)
                return f"-> block {tx.block_index}" if tx.block_index else tx.message
            case "forge":
                forged = lab.forge(a["node"], a.get("victim"))
                r = forged.result
                return (
                    f"{forged.victim}'s chain rewritten at block {r.rewritten}, blocks "
                    f"{r.changed[0]}-{r.changed[-1]} changed, length {r.length}; offered to peers"
                )
            case "replace_chain":
                replaced = lab.replace_chain(a.get("node"))
                yes = [n for n, r in replaced.items() if r.replaced]
                no = [n for n, r in replaced.items() if not r.replaced]
                parts = []
                if yes:
                    parts.append("replaced on " + ", ".join(yes))
                if no:
                    parts.append("kept on " + ", ".join(no))
                return "; ".join(parts + self._refusals(replaced))
            case "validate":
                checks = lab.validate(a.get("node"))
                bad = [f"{n}: {r.message}" for n, r in checks.items() if not r.valid]
                return "not valid: " + "; ".join(bad) if bad else f"{len(checks)} valid"
            case "sleep":
                self.sleep(float(a["seconds"]))
                return ""
            case "show":
                return ""
            case "start" | "restart":
                url = (
                    lab.start_node(a["node"]) if step.do == "start" else lab.restart_node(a["node"])
                )
                return f"up at {url}"
            case "stop":
                lab.stop_node(a["node"])
                return "stopped"
            case "kill":
                lab.kill_node(a["node"])
                return "killed (SIGKILL)"
            case "partition":
                lab.partition(a["groups"])
                return f"{len(a['groups'])} sides; peer traffic across them refused both ways"
            case "heal":
                lab.heal()
                return "one network again"
            case "latency":
                lab.latency(a["node"], a["ms"], a.get("loss", 0.0))
                return "peer calls to and from it delayed" if a["ms"] else ""
            case "automine":
                on = a.get("on", True)
                set_on = lab.automine(a["node"], a.get("every"), on)
                return f"{len(set_on)} node(s) " + ("mining" if on else "stopped")
            case "traffic":
                if a.get("on", True):
                    stats = lab.traffic(a["rate"], True, a.get("addresses"), a.get("nodes"))
                    return f"on, {stats.rate:g} transactions/s"
                stats = lab.traffic(on=False)
                return (
                    f"off: {stats.acknowledged} acknowledged of {stats.posted} posted, "
                    f"{len(lab.ledger)} in the ledger"
                )
        raise LabError(f"step {step.number}: unknown action {step.do}")  # parse_script prevents

    def _send(self, step: Step) -> TxResult:
        a = step.args
        if step.do == "resend":
            return self.lab.resend(a.get("node"))
        if "wallet" in a:
            return self.lab.add_transaction(
                a["node"], receiver=a["receiver"], amount=a["amount"], wallet=a["wallet"]
            )
        return self.lab.add_transaction(a["node"], a["sender"], a["receiver"], a["amount"])

    def refusal(self, step: Step, result: StepResult) -> None:
        """A transaction the node should refuse: ok when it answers 4xx with a message that
        holds the expected text (any message for true); FAIL when it accepts it."""
        want = step.args["expect_refused"]
        node = step.args.get("node") or (self.lab.last_signed or ("?",))[0]
        try:
            tx = self._send(step)
        except NodeDown:
            raise
        except NodeError as exc:
            if exc.status is None or not 400 <= exc.status < 500:
                raise
            said = exc.detail
            if want is True or want.lower() in said.lower():
                result.detail = f"refused: {said}"
                return
            result.status = FAIL
            result.failures = [Failure(node, "refused", f"a message with {want!r}", said)]
            return
        result.status = FAIL
        accepted = f"accepted (-> block {tx.block_index})" if tx.block_index else tx.message
        wanted = "a refusal" if want is True else f"a refusal with {want!r}"
        result.failures = [Failure(node, "refused", wanted, accepted)]

    def _refusals(self, replaced: dict[str, Any]) -> list[str]:
        """'node1 refused forger's chain: block 3: ...' for every invalid peer chain."""
        owners = self.lab._netloc_owners()
        said = []
        for name, r in replaced.items():
            for outcome in r.peers.values():
                if isinstance(outcome, dict) and outcome.get("outcome") == "invalid":
                    peer = str(outcome.get("peer", "?"))
                    detail = outcome.get("detail", "")
                    said.append(f"{name} refused {owners.get(peer, peer)}'s chain: {detail}")
        return said

    def wait(self, step: Step, result: StepResult, began: float) -> None:
        """Poll the step's checks until they all hold, or fail after its timeout with the
        last state seen. A node error while polling counts as not there yet."""
        timeout = float(step.args.get("timeout", DEFAULT_WAIT))
        deadline = began + timeout
        delay = 0.05
        while True:
            try:
                failures = self.evaluate(step)
            except LabError as exc:
                failures = [Failure(None, "error", "none", str(exc))]
            if not failures:
                result.detail = f"reached after {time.monotonic() - began:.2f}s"
                return
            if time.monotonic() + delay > deadline:
                break
            self.sleep(delay)
            delay = min(delay * 1.5, 0.25)
        result.status, result.failures = FAIL, failures
        result.detail = f"not reached within {timeout:g}s; last state seen:"
        if self.last_snapshot is not None:
            result.state = chain_table(self.last_snapshot)

    # -- expectations ----------------------------------------------------------------------
    def evaluate(self, step: Step) -> list[Failure]:
        a = step.args
        snap = self.lab.snapshot()
        self.last_snapshot = snap
        d = snap.diff()
        scope = [step.node] if step.node else list(snap.nodes)
        fails: list[Failure] = []
        if "up" in a:
            fails += [Failure(n, "up", a["up"], snap[n].up) for n in scope if snap[n].up != a["up"]]
        if "consensus" in a and d.consensus != a["consensus"]:
            fails.append(Failure(None, "consensus", a["consensus"], _groups(d.groups)))
        if "groups" in a and len(d.groups) != a["groups"]:
            fails.append(Failure(None, "groups", a["groups"], _groups(d.groups)))
        if "fork_point" in a and (d.fork_point or 0) != a["fork_point"]:
            fails.append(Failure(None, "fork_point", a["fork_point"], d.fork_point or 0))
        if "sides" in a:
            sides = snap.partition
            if max(1, len(sides)) != a["sides"]:
                shown = " | ".join(",".join(g) for g in sides) if sides else "no partition"
                fails.append(Failure(None, "sides", a["sides"], f"{max(1, len(sides))} ({shown})"))
        if "lost" in a:
            lost = self.lab.lost(snap)
            if len(lost) != a["lost"]:
                some = "; ".join(
                    f"{x.tx['sender']}->{x.tx['receiver']} {x.tx['amount']} (to {x.node})"
                    for x in lost[:3]
                )
                more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
                shown = f"{len(lost)}: {some}{more}" if lost else "0"
                fails.append(Failure(None, "lost", a["lost"], shown))
        per_node = [
            k
            for k in (
                "length", "min_length", "mempool", "peers", "balance", "valid", "automine",
                "forged",
            )
            if k in a
        ]  # fmt: skip
        if not per_node:
            return fails
        up = [snap[n] for n in scope if snap[n].up]
        for name in scope:
            if not snap[name].up and a.get("up") is not False:
                fails.append(Failure(name, "up", True, f"down ({snap[name].error})"))
        measured = {
            "length": lambda s: s.length,
            "mempool": lambda s: len(s.mempool),
            "peers": lambda s: len(s.peers),
            "automine": lambda s: s.automine is not None,
        }
        for key, measure in measured.items():
            if key in a:
                fails += [
                    Failure(s.name, key, a[key], measure(s)) for s in up if measure(s) != a[key]
                ]
        if "min_length" in a:
            fails += [
                Failure(s.name, "min_length", a["min_length"], s.length)
                for s in up
                if s.length < a["min_length"]
            ]
        if "balance" in a:
            for s in up:
                have = s.balances()
                for address, amount in a["balance"].items():
                    got = have.get(self.lab.wallets.address(address), 0)
                    if abs(got - amount) > 1e-9:
                        fails.append(Failure(s.name, f"balance[{address}]", amount, got))
        if "forged" in a:
            forgery = self.lab.forgery
            for s in up:
                held = forgery is not None and forgery.held_by(s)
                if held != a["forged"]:
                    shown = "no forgery yet" if forgery is None else f"{held} (tip {short(s.tip)})"
                    fails.append(Failure(s.name, "forged", a["forged"], shown))
        if "valid" in a and up:
            checks = self.lab.validate([s.name for s in up])
            fails += [
                Failure(n, "valid", a["valid"], f"{r.valid} ({r.message})")
                for n, r in checks.items()
                if r.valid != a["valid"]
            ]
        return fails

    # -- output ----------------------------------------------------------------------------
    def _print_result(self, r: StepResult) -> None:
        label = r.step.label()
        detail = r.error or r.detail
        self.print(
            f"{r.step.number:>3}. {label:<44} {r.status:<5} {r.elapsed:6.2f}s  {detail}".rstrip()
        )
        if r.step.note and r.status != OK:
            self.print(f"     note: {r.step.note}")
        for failure in r.failures:
            self.print(f"     x {failure}")
        for line in r.state:
            self.print(line)

    def _table(self) -> None:
        try:
            snap = self.lab.snapshot()
        except LabError as exc:
            self.print(f"     (no table: {exc})")
            return
        for line in chain_table(snap):
            self.print(line)

    def _check_deaths(self) -> None:
        for death in self.lab.deaths():
            self.report.deaths.append(death)
            self.print(
                f"  !! {death.name} died unexpectedly (exit code {death.returncode}); "
                "last lines of its log:"
            )
            for line in death.log_tail.splitlines():
                self.print(f"     | {line}")

    def _summary(self) -> None:
        results = self.report.results
        checks = [r for r in results if r.step.do in ("expect", "wait")]
        failed = [r for r in checks if r.status == FAIL]
        errors = [r for r in results if r.status == ERROR]
        skipped = [r for r in results if r.status == SKIP]
        parts = [f"{len(results)} steps", f"{len(checks)} checks"]
        if failed:
            parts.append(
                f"{len(failed)} failed (step {', '.join(str(r.step.number) for r in failed)})"
            )
        if errors:
            parts.append(f"{len(errors)} error(s)")
        if skipped:
            parts.append(f"{len(skipped)} skipped")
        if self.report.deaths:
            parts.append(f"{len(self.report.deaths)} node(s) died")
        verdict = "PASSED" if self.report.ok else "FAILED"
        self.print(f"{verdict}: {', '.join(parts)} in {self.report.elapsed:.2f}s")


def _groups(groups: list[list[str]]) -> str:
    if len(groups) == 1:
        return "true (one chain)"
    return f"{len(groups)} chains: " + " | ".join(",".join(g) for g in groups)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
