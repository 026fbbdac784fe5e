"""Plain-text tables and the JSON report of a run (no terminal library needed)."""

from __future__ import annotations

from typing import Any

from becoin_lab.diff import ChainDiff
from becoin_lab.lab import NodeState, Snapshot

SHORT = 8


def short(hash_: str) -> str:
    return hash_[:SHORT] if hash_ else "-"


def consensus_line(d: ChainDiff, total: int) -> str:
    agreeing = sum(len(g) for g in d.groups[:1])
    down = f", {len(d.down)} down ({', '.join(d.down)})" if d.down else ""
    if d.consensus:
        return f"consensus: yes, {agreeing} of {total} nodes share one chain{down}"
    if not d.groups:
        return f"consensus: no node answers{down}"
    fork = f", fork at block {d.fork_point}" if d.fork_point else ", no fork (some behind)"
    return f"consensus: no, {len(d.groups)} chains{fork}{down}"


def chain_table(snapshot: Snapshot, d: ChainDiff | None = None, indent: str = "     ") -> list[str]:
    """A compact table: name, length, tip short hash, agreement group; then consensus."""
    d = d or snapshot.diff()
    width = max([4, *(len(s.name) for s in snapshot)])
    lines = [f"{indent}{'node':<{width}}  {'length':>6}  {'tip':<{SHORT}}  group"]
    for s in snapshot:
        if s.up:
            row = f"{s.name:<{width}}  {s.length:>6}  {short(s.tip):<{SHORT}}  {d.label(s.name)}"
            if s.mempool:
                row += f"  (mempool {len(s.mempool)})"
            marks = (["forger"] if s.role == "forger" else []) + fault_marks(s)
            if marks:
                row += f"  [{', '.join(marks)}]"
        else:
            row = f"{s.name:<{width}}  {'-':>6}  {'down':<{SHORT}}  -  {s.error or ''}".rstrip()
        lines.append(indent + row)
    lines.append(indent + consensus_line(d, len(snapshot)))
    sides = snapshot.partition
    if sides:
        lines.append(indent + "partition: " + " | ".join(" ".join(side) for side in sides))
    return lines


def fault_marks(s: NodeState) -> list[str]:
    """Short words for what runs or is wrong on a node: automine, latency, loss."""
    marks = []
    if s.automine:
        marks.append(f"automine {s.automine:g}s")
    if s.latency_ms:
        marks.append(f"latency {s.latency_ms}ms")
    if s.loss:
        marks.append(f"loss {s.loss:.0%}")
    return marks


def nodes_json(snapshot: Snapshot, d: ChainDiff | None = None) -> list[dict[str, Any]]:
    d = d or snapshot.diff()
    return [
        {
            "name": s.name,
            "url": s.url,
            "up": s.up,
            "length": s.length if s.up else None,
            "tip": s.tip if s.up else None,
            "group": d.label(s.name) if s.up else None,
            "mempool": len(s.mempool),
            "peers": list(s.peers),
            "error": s.error,
            "automine": s.automine,
            "latency_ms": s.latency_ms,
            "loss": s.loss,
            "side": snapshot.side(s.name),
            "rules": s.rules,
            "role": s.role,
        }
        for s in snapshot
    ]
