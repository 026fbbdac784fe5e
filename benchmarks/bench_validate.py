"""Blocks validated per second: classic rules against strict rules (signatures included).

Builds a 2,000-block chain under each rule set, then times full validation of it:
classic `chain.chain_problem` (links and the nonce puzzle) against strict
`strict.strict_chain_problem` (shapes, links, proof of work over each header, one
reward, and every transaction's Ed25519 signature, sequence and balance). The strict
chain carries `--txs` signed transfers per block plus the reward. Chains are built at a
low difficulty; a validation checks one hash per block whatever the difficulty, so the
figures hold at the blog's difficulty 4 too. Also shown: what the signatures cost, and
validating one new block on top of the chain with `start` (what a node does on sync).

    .venv/bin/python benchmarks/bench_validate.py [--blocks 2000] [--txs 3] [--difficulty 2]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable

from becoin_core import chain as classic
from becoin_core import strict


def build_classic(blocks: int, difficulty: int) -> list[dict]:
    chain = [classic.genesis_block("2026-01-01 00:00:00.000000")]
    for i in range(2, blocks + 1):
        prev = chain[-1]
        nonce = classic.proof_of_work(prev["nonce"], difficulty)
        txs = [{"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": 1}
               for _ in range(3)] + [classic.reward_transaction("a" * 32, "Receiver")]
        chain.append(classic.new_block(i, nonce, classic.block_hash(prev), txs, f"t{i}"))
    return chain


def build_strict(blocks: int, txs_per_block: int, difficulty: int) -> list[dict]:
    wallets = [hashlib.sha256(f"wallet{i}".encode()).hexdigest() for i in range(5)]
    pubs = [strict.public_key_of(w) for w in wallets]
    chain = [classic.genesis_block("2026-01-01 00:00:00.000000")]
    ledger = strict.Ledger()
    for index in range(2, blocks + 1):
        txs = []
        for j in range(txs_per_block):
            s = (index + j) % len(wallets)
            if ledger.balance(pubs[s]) >= 1:
                tx = strict.sign_transaction(wallets[s], pubs[(s + 1) % len(wallets)], 1,
                                             ledger.next_sequence(pubs[s]))
                ledger.apply(tx)
                txs.append(tx)
        reward = strict.reward_transaction(pubs[index % len(wallets)], index)
        ledger.apply(reward)
        block = strict.mine(index, f"2026-01-01 {index}", strict.header_hash(chain[-1]),
                            txs + [reward], difficulty)
        chain.append(block)
    return chain


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--txs", type=int, default=3, help="signed transfers per strict block")
    parser.add_argument("--difficulty", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    d = args.difficulty

    t0 = time.perf_counter()
    c_chain = build_classic(args.blocks, d)
    s_chain = build_strict(args.blocks, args.txs, d)
    built = time.perf_counter() - t0
    assert classic.chain_problem(c_chain, d) is None
    assert strict.strict_chain_problem(s_chain, d) is None
    user_txs = [tx for b in s_chain for tx in b["transactions"] if not strict.is_reward(tx)]
    n = len(s_chain)
    print(f"built {args.blocks}-block chains at difficulty {d} in {built:.1f} s; strict chain "
          f"carries {len(user_txs)} signed transfers ({len(user_txs) / (n - 1):.2f} per block)")

    classic_s = best_of(args.repeat, lambda: classic.chain_problem(c_chain, d))
    strict_s = best_of(args.repeat, lambda: strict.strict_chain_problem(s_chain, d))
    sigs_s = best_of(args.repeat, lambda: [strict.transaction_problem(t) for t in user_txs])
    shape_s = best_of(args.repeat,
                      lambda: [strict.transaction_problem(t, verify=False) for t in user_txs])
    tip_s = best_of(args.repeat, lambda: strict.strict_chain_problem(s_chain, d, start=n - 1))

    print(f"classic chain_problem:        {classic_s * 1000:8.1f} ms  "
          f"{n / classic_s:10,.0f} blocks/s")
    print(f"strict strict_chain_problem:  {strict_s * 1000:8.1f} ms  "
          f"{n / strict_s:10,.0f} blocks/s  ({strict_s / classic_s:.1f}x classic's time)")
    sig_share = (sigs_s - shape_s) / strict_s
    print(f"  of which signatures:        {(sigs_s - shape_s) * 1000:8.1f} ms  "
          f"({sig_share:.0%}; {(sigs_s - shape_s) / len(user_txs) * 1e6:.0f} us each)")
    print(f"strict, one new tip block (start={n - 1}, ledger rebuilt from the rest): "
          f"{tip_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
