"""Balances per address, computed from a chain.

A transfer moves its amount from sender to receiver. A miner's reward (the last transaction
of a mined block, from the node's address, of 10) creates coins: its sender is not debited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from becoin_core.chain import is_reward

Number = int | float


def balances(chain: Iterable[dict[str, Any]]) -> dict[str, Number]:
    """Address -> balance over every block of the chain (addresses in first-seen order)."""
    totals: dict[str, Number] = {}
    for block in chain:
        for tx in block.get("transactions", []):
            amount = _amount(tx.get("amount"))
            if amount is None:
                continue
            receiver, sender = str(tx.get("receiver")), str(tx.get("sender"))
            totals[receiver] = totals.get(receiver, 0) + amount
            if not is_reward(tx, block):
                totals[sender] = totals.get(sender, 0) - amount
    return {k: int(v) if float(v).is_integer() else v for k, v in totals.items()}


def _amount(value: Any) -> Number | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
