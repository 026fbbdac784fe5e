"""The forger: rewrite history cheaply, and see which rules let it through.

It takes an honest chain, changes one early transaction so that it pays the
forger, re-links every later block's previous_hash, and mines one ordinary
block on top, without redoing the proof of work of the history it changed.
Under the blog's rules the nonces only depend on each other, so every old nonce
still solves its puzzle and the forgery is the longest valid chain. Under strict
rules the work covers the contents (and the signatures the senders), so the
changed block no longer meets the difficulty and honest nodes refuse it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from becoin_core import chain as classic
from becoin_core.chain import Block
from becoin_core.ruleset import Classic, Strict


@dataclass
class Forgery:
    chain: list[Block]
    rewritten: int  # index of the block whose transaction was changed
    changed: list[int]  # indexes of every block that differs from the original
    description: str


class NothingToForge(Exception):
    """The chain has no transaction to rewrite (only a genesis block)."""


def forge(
    honest: list[Block],
    rules: Classic | Strict,
    thief: str,
    address: str,
    difficulty: int,
    timestamp: str,
) -> Forgery:
    """The forged chain: the earliest user transaction (else the earliest
    reward) now pays `thief`; later links redone, one block mined on top."""
    chain = copy.deepcopy(honest)
    target = None
    for block in chain[1:]:
        users = rules.user_transactions([block])
        if users:
            target = (block, users[0])
            break
    if target is None:
        if len(chain) < 2:
            raise NothingToForge("the chain has only its genesis block: mine a block first")
        target = (chain[1], chain[1]["transactions"][-1])
    block, tx = target
    old_receiver = tx["receiver"]
    tx["receiver"] = thief
    position = block["index"] - 1
    for i in range(position + 1, len(chain)):  # re-link, and nothing more
        chain[i]["previous_hash"] = rules.link_hash(chain[i - 1])
    tip, tip_hash = chain[-1], rules.link_hash(chain[-1])
    index = len(chain) + 1
    reward = rules.reward(address, thief, index)
    if isinstance(rules, Strict):
        found = rules.mine(tip, tip_hash, index, timestamp, [reward], difficulty, lambda: False)
        assert isinstance(found, dict)
        top = found
    else:
        nonce = classic.proof_of_work(tip["nonce"], difficulty)
        assert nonce is not None
        top = classic.new_block(index, nonce, tip_hash, [reward], timestamp)
    chain.append(top)
    changed = [b["index"] for a, b in zip(honest, chain, strict=False) if a != b] + [index]
    return Forgery(
        chain, block["index"], changed,
        f"block {block['index']}: a payment to {str(old_receiver)[:16]} now pays "
        f"{thief[:16]}; blocks {changed[0]}-{changed[-2]} re-linked without new work; "
        f"block {index} mined on top",
    )
