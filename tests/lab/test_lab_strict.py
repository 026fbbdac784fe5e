"""Strict rules, wallets and the forger through the Lab API, against real nodes."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from labtools import wait_until

from becoin_core import strict
from becoin_lab.config import load_config
from becoin_lab.errors import LabError, NodeError
from becoin_lab.lab import Lab
from becoin_lab.runner import FAIL, OK, Runner
from becoin_lab.script import parse_script


def lab_text(rules: str, forger: bool = True) -> str:
    text = f"""[lab]
rules = "{rules}"
difficulty = 2
data_dir = "labdata"
stop_grace = 2

[[nodes]]
name = "node1"
port = 0
miner = "alice"

[[nodes]]
name = "node2"
port = 0
"""
    if forger:
        text += '\n[[nodes]]\nname = "forger"\nport = 0\nrole = "forger"\nminer = "mallory"\n'
    for wallet in ("alice", "bob", "mallory"):
        text += f'\n[[wallets]]\nname = "{wallet}"\n'
    return text


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    """make_lab(rules) starts a lab of real nodes; every lab is closed at teardown."""
    labs: list[Lab] = []

    def make(rules: str = "strict", forger: bool = True, folder: str = "a") -> Lab:
        where = tmp_path / folder
        where.mkdir(exist_ok=True)
        path = where / "lab.toml"
        path.write_text(lab_text(rules, forger))
        lab = Lab(load_config(path))
        labs.append(lab)
        lab.start()
        return lab

    yield make
    for lab in labs:
        lab.close()


def test_polling_a_strict_chain_fetches_only_the_new_block(make_lab):
    lab = make_lab("strict", forger=False)
    lab.mine("node1", 3)
    first = lab.snapshot()["node1"]
    assert first.rules == "strict" and first.length == 4
    assert first.hashes == tuple(strict.header_hash(b) for b in first.chain)
    assert first.tip == lab.client("node1").status().tip
    lab.mine("node1")
    again = lab.snapshot()["node1"]
    assert again.fetched == 1 and again.length == 5
    assert again.chain[-1]["previous_hash"] == first.tip
    assert lab.snapshot()["node1"].fetched == 0


def test_signing_as_a_wallet_sequences_and_strict_balances(make_lab):
    lab = make_lab("strict", forger=False)
    keys = lab.wallet_keys()
    assert list(keys) == ["alice", "bob", "mallory"]
    assert lab.snapshot("node1")["node1"].miner == keys["alice"]  # miner = a wallet's key
    lab.mine("node1")  # alice: 10
    lab.add_transaction("node1", receiver="bob", amount=4, wallet="alice")
    # the next sequence counts the mempool: 2, not 1 again
    lab.add_transaction("node1", receiver=keys["mallory"], amount=1, wallet="alice")
    pool = lab.snapshot("node1")["node1"].mempool
    assert [(t["sequence"], t["receiver"]) for t in pool] == [(1, keys["bob"]),
                                                               (2, keys["mallory"])]
    assert lab.last_signed == ("node1", pool[1])
    with pytest.raises(NodeError, match="overspends") as info:
        lab.add_transaction("node1", receiver="bob", amount=6, wallet="alice")
    assert info.value.status == 400
    with pytest.raises(NodeError, match="replays sequence 2"):
        lab.resend()
    with pytest.raises(NodeError, match="Refused under strict rules|missing"):
        lab.add_transaction("node1", keys["alice"], keys["bob"], 1)  # unsigned
    with pytest.raises(LabError, match="neither a wallet"):
        lab.add_transaction("node1", receiver="Kirill", amount=1, wallet="alice")
    with pytest.raises(LabError, match="no wallet named"):
        lab.add_transaction("node1", receiver="bob", amount=1, wallet="carol")
    lab.mine("node1")  # alice: 10 - 4 - 1 + 10
    by_name = {w.name: w for w in lab.wallet_balances()}
    assert by_name["alice"].nodes == {"node1": 15, "node2": 0}
    assert not by_name["alice"].agree and by_name["alice"].address == keys["alice"]
    lab.connect()
    lab.replace_chain("node2")
    by_name = {w.name: w for w in lab.wallet_balances()}
    assert by_name["alice"].agree and by_name["bob"].nodes == {"node1": 4, "node2": 4}
    assert lab.snapshot()["node2"].balances()[keys["mallory"]] == 1


def test_wallet_keys_persist_with_the_data_dir(tmp_path, make_lab):
    lab = make_lab("strict", forger=False, folder="one")
    key = lab.wallets.public_key("alice")
    path = tmp_path / "one" / "labdata" / "wallets" / "alice.key"
    assert path.stat().st_mode & 0o777 == 0o600
    lab.close()
    again = make_lab("strict", forger=False, folder="one")
    assert again.wallets.public_key("alice") == key
    assert again.snapshot("node1")["node1"].miner == key
    other = make_lab("strict", forger=False, folder="two")
    assert other.wallets.public_key("alice") != key


def test_classic_wallets_send_unsigned_from_their_public_key(make_lab):
    lab = make_lab("classic", forger=False)
    keys = lab.wallet_keys()
    lab.mine("node1")
    lab.add_transaction("node1", receiver="bob", amount=2.5, wallet="alice")
    (tx,) = lab.snapshot("node1")["node1"].mempool
    assert tx == {"sender": keys["alice"], "receiver": keys["bob"], "amount": 2.5}
    lab.mine("node1")
    balances = {w.name: w.nodes["node1"] for w in lab.wallet_balances()}
    assert balances == {"alice": 17.5, "bob": 2.5, "mallory": 0}  # the blog's way


def _forge_setup(lab: Lab) -> None:
    lab.connect()
    lab.mine("node1")
    lab.add_transaction("node1", receiver="bob", amount=5, wallet="alice")
    lab.mine("node1", 2)
    lab.replace_chain()


@pytest.mark.parametrize("rules", ["classic", "strict"])
def test_forge_under_both_rules(make_lab, rules):
    lab = make_lab(rules)
    _forge_setup(lab)
    with pytest.raises(LabError, match="node1 is honest"):
        lab.forge("node1")
    forged = lab.forge("forger")
    assert forged.victim == "node1" and forged.result.rewritten == 3
    assert forged.result.changed == [3, 4, 5] and forged.result.length == 5
    snap = lab.snapshot()
    assert forged.held_by(snap["forger"]) and snap["forger"].length == 5
    mallory = lab.wallets.public_key("mallory")
    assert snap["forger"].balances()[mallory] == 15
    if rules == "classic":  # the honest nodes sync from the forger and adopt it
        wait_until(lambda: all(forged.held_by(s) for s in lab.snapshot()), 10, "adoption")
        assert all(r.valid for r in lab.validate().values())
    else:  # refused: the honest nodes keep theirs
        replaced = lab.replace_chain(["node1", "node2"])
        assert not any(r.replaced for r in replaced.values())
        outcomes = [o for r in replaced.values() for o in r.peers.values()]
        assert any(o["outcome"] == "invalid" and "block 3" in o["detail"] for o in outcomes)
        snap = lab.snapshot()
        assert not forged.held_by(snap["node1"]) and not forged.held_by(snap["node2"])
        assert snap["node1"].balances().get(mallory, 0) == 0
        assert not lab.validate("forger")["forger"].valid


def test_runner_refusals_resend_and_forged_checks(make_lab):
    lab = make_lab("strict")
    steps = [
        {"do": "connect"},
        {"do": "mine", "node": "node1"},
        {"do": "add_transaction", "node": "node1", "wallet": "alice", "receiver": "bob",
         "amount": 3},
        {"do": "resend", "expect_refused": "replays"},
        {"do": "resend", "expect_refused": "overspends"},  # refused, but for another reason
        {"do": "add_transaction", "node": "node1", "wallet": "alice", "receiver": "bob",
         "amount": 1, "expect_refused": True},  # accepted: FAIL
        {"do": "expect", "node": "node1", "forged": True},  # no forgery yet: FAIL
        {"do": "mine", "node": "node1", "count": 2},
        {"do": "forge", "node": "forger"},
        {"do": "replace_chain", "node": "node2"},
        {"do": "expect", "node": "node2", "forged": False, "balance": {"bob": 4, "alice": 26}},
        {"do": "expect", "node": "forger", "forged": True},
    ]  # fmt: skip
    out = io.StringIO()
    report = Runner(lab, parse_script({"step": steps}), out).run()
    text = out.getvalue()
    assert [r.status for r in report.results] == [
        OK, OK, OK, OK, FAIL, FAIL, FAIL, OK, OK, OK, OK, OK,
    ], text
    assert "refused: HTTP 400: Refused under strict rules: the transaction replays" in text
    assert "refused expected a refusal, got accepted (-> block 3)" in text
    assert "node1: forged expected true, got no forgery yet" in text
    assert "node2 refused forger's chain: block 3" in text
    assert report.exit_code == 1
