"""Wallets, rules and roles without nodes: key files, lab.toml errors, script step errors."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from labtools import BECOIN_LAB

from becoin_core import strict
from becoin_lab.config import load_config, parse_config
from becoin_lab.errors import ConfigError, LabError, ScriptError
from becoin_lab.lab import Lab
from becoin_lab.script import load_script
from becoin_lab.supervisor import Supervisor
from becoin_lab.wallets import WalletBook

LAB = """[lab]
rules = "strict"
difficulty = 2

[[nodes]]
name = "node1"
port = 0
miner = "alice"

[[nodes]]
name = "forger"
port = 0
role = "forger"

[[nodes]]
name = "old"
port = 0
rules = "classic"

[[wallets]]
name = "alice"

[[wallets]]
name = "bob"
"""


def write(tmp_path: Path, text: str, name: str = "lab.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def config_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_wallet_key_is_made_once_kept_0600_and_reused(tmp_path):
    book = WalletBook(tmp_path / "wallets", ["alice", "bob"])
    key = book.public_key("alice")
    path = tmp_path / "wallets" / "alice.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert strict.public_key_of(path.read_text().strip()) == key
    assert not (tmp_path / "wallets" / "bob.key").exists()  # made on first use only
    again = WalletBook(tmp_path / "wallets", ["alice", "bob"])
    assert again.public_key("alice") == key
    assert again.public_key("bob") != key
    assert again.address("bob") == again.public_key("bob") and again.address("zed") == "zed"
    assert again.name_of(key) == "alice"
    tx = again.get("alice").sign(again.public_key("bob"), 3, 1)
    assert strict.transaction_problem(tx) is None
    with pytest.raises(LabError, match="no wallet named 'carol'"):
        again.get("carol")
    path.write_text("not a key\n")
    with pytest.raises(LabError, match="does not hold a private key"):
        WalletBook(tmp_path / "wallets", ["alice"]).get("alice")


def test_rules_roles_and_wallets_reach_the_node_command(tmp_path):
    cfg = load_config(write(tmp_path, LAB))
    assert cfg.rules == "strict" and cfg.wallet_names == ["alice", "bob"]
    assert [cfg.rules_of(n) for n in cfg.names] == ["strict", "strict", "classic"]
    assert cfg.role_of("forger") == "forger" and cfg.role_of("node1") == "honest"
    book = WalletBook(tmp_path / "w", cfg.wallet_names)
    sup = Supervisor(cfg, tmp_path / "data", ["true"], miner_key=book.address)
    commands = {}
    for name, node in sup.nodes.items():
        sup._spawn(node)
        commands[name] = node.proc.args
        node.proc.wait()
    sup.stop_all()
    assert commands["node1"][commands["node1"].index("--miner") + 1] == book.public_key("alice")
    assert commands["node1"][commands["node1"].index("--rules") + 1] == "strict"
    assert "--role" not in commands["node1"]
    assert commands["forger"][commands["forger"].index("--role") + 1] == "forger"
    assert "--rules" not in commands["old"] and "--miner" not in commands["old"]


@pytest.mark.parametrize("text, key, line, message", [
    ('[lab]\nrules = "fancy"\n[[nodes]]\nname = "a"\nport = 0\n', "lab.rules", 2,
     "'classic' or 'strict'"),
    ('[[nodes]]\nname = "a"\nport = 0\nrules = 3\n', "nodes[0].rules", 4, "must be a string"),
    ('[[nodes]]\nname = "a"\nport = 0\nrole = "thief"\n', "nodes[0].role", 4,
     "'honest' or 'forger'"),
    ('[[nodes]]\nname = "a"\nurl = "http://127.0.0.1:9"\nrole = "forger"\n', "nodes[0].role", 4,
     "set where it runs"),
    ('[[nodes]]\nname = "a"\nport = 0\n\n[[wallets]]\nname = "b"\n\n[[wallets]]\nname = "b"\n',
     "wallets[1].name", 9, "duplicate wallet 'b'"),
    ('[[nodes]]\nname = "a"\nport = 0\n\n[[wallets]]\nname = "a"\n', "wallets[0].name", 6,
     "also a node's name"),
    ('[[nodes]]\nname = "a"\nport = 0\n\n[[wallets]]\nname = "b"\nkey = "x"\n',
     "wallets[0].key", 7, "unknown key"),
    ('[[nodes]]\nname = "a"\nport = 0\n\n[[wallets]]\ncolor = "x"\n', "wallets[0].color", 6,
     "unknown key"),
    ('[[nodes]]\nname = "a"\nport = 0\n\n[[wallets]]\n', "wallets[0].name", 5, "missing"),
    ('[[nodes]]\nname = "a"\nport = 0\n[wallets]\nname = "b"\n', "wallets", None,
     "array of tables"),
    ('[lab]\nrules = "strict"\n[[nodes]]\nname = "a"\nport = 0\nminer = "Receiver"\n',
     "nodes[0].miner", 6, "neither a wallet nor a public key"),
    ('[lab]\nrules = "strict"\nminer = "Receiver"\n[[nodes]]\nname = "a"\nport = 0\n',
     "lab.miner", 3, "neither a wallet nor a public key"),
])  # fmt: skip
def test_config_errors_name_file_key_and_line(tmp_path, text, key, line, message):
    err = config_error(tmp_path, text)
    assert err.key == key and message in err.detail
    if line is not None:
        assert err.line == line
    assert str(tmp_path / "lab.toml") in str(err)


def test_classic_miner_may_be_any_name(tmp_path):
    text = '[lab]\nminer = "Receiver"\n[[nodes]]\nname = "a"\nport = 0\n'
    cfg = load_config(write(tmp_path, text))
    assert cfg.miner == "Receiver" and cfg.rules == "classic" and cfg.wallets == []


def script_error(tmp_path: Path, step: str) -> ScriptError:
    path = write(tmp_path, "[[step]]\n" + step + "\n", "s.toml")
    with pytest.raises(ScriptError) as info:
        load_script(path).check_lab(load_config(write(tmp_path, LAB)))
    return info.value


@pytest.mark.parametrize("step, key, message", [
    ('do = "forge"', None, "'forge' needs 'node'"),
    ('do = "forge"\nnode = "forger"\ncount = 2', "count", "takes no key 'count'"),
    ('do = "forge"\nnode = "forger"\nvictim = 3', "victim", "a node name"),
    ('do = "forge"\nnode = "forger"\nvictim = "nobody"', "victim", "no node named 'nobody'"),
    ('do = "forge"\nnode = "node1"', "node", "not a forger"),
    ('do = "forge"\nnode = "forger"\nvictim = "forger"', "victim", "another node's chain"),
    ('do = "resend"\nwallet = "alice"', "wallet", "'resend' takes no key 'wallet'"),
    ('do = "resend"\nexpect_refused = false', "expect_refused", "or true for any refusal"),
    ('do = "resend"\nexpect_refused = ""', "expect_refused", "or true for any refusal"),
    ('do = "add_transaction"\nnode = "node1"\nreceiver = "bob"\namount = 1', None,
     "exactly one of them"),
    ('do = "add_transaction"\nnode = "node1"\nwallet = "alice"\nsender = "x"\nreceiver = "bob"'
     '\namount = 1', None, "exactly one of them"),
    ('do = "add_transaction"\nnode = "node1"\nwallet = 7\nreceiver = "bob"\namount = 1',
     "wallet", "a wallet name"),
    ('do = "add_transaction"\nnode = "node1"\nwallet = "carol"\nreceiver = "bob"\namount = 1',
     "wallet", "no wallet named 'carol'"),
    ('do = "add_transaction"\nnode = "node1"\nwallet = "alice"\nreceiver = "Kirill"\namount = 1',
     "receiver", "neither a wallet nor a public key"),
    ('do = "add_transaction"\nnode = "node1"\nsender = "a"\nreceiver = "bob"\namount = 1',
     "sender", "unsigned transaction is refused"),
    ('do = "expect"\nforged = "yes"', "forged", "true or false"),
])  # fmt: skip
def test_new_step_errors_name_step_and_key(tmp_path, step, key, message):
    err = script_error(tmp_path, step)
    assert err.step == 1 and err.key == key and message in str(err)


def test_classic_node_takes_any_receiver_and_unsigned_senders(tmp_path):
    path = write(tmp_path, '[[step]]\ndo = "add_transaction"\nnode = "old"\nsender = "a"\n'
                 'receiver = "Kirill"\namount = 1\n', "s.toml")
    load_script(path).check_lab(load_config(write(tmp_path, LAB)))  # no error


def test_cli_exits_2_on_a_forge_step_naming_an_honest_node(tmp_path):
    lab = write(tmp_path, LAB)
    script = write(tmp_path, '[[step]]\ndo = "forge"\nnode = "node1"\n', "s.toml")
    proc = subprocess.run([*BECOIN_LAB, "run", str(script), "--config", str(lab)],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "step 1, key 'node'" in proc.stderr and "not a forger" in proc.stderr


def test_traffic_refuses_strict_nodes(tmp_path):
    config = parse_config({"lab": {"rules": "strict", "data_dir": str(tmp_path)},
                           "nodes": [{"name": "node1", "port": 0}]})
    lab = Lab(config)
    with pytest.raises(LabError, match="strict nodes refuse"):
        lab.traffic(rate=5, on=True)
    assert lab.traffic_generator is None
