"""script.toml parsing: steps, and errors naming file, step number, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from labtools import ROOT

from becoin_lab.errors import ScriptError
from becoin_lab.script import STEPS, load_script


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        load_script(write(tmp_path, text))
    return info.value


@pytest.mark.parametrize("name", ["blog_walkthrough.toml", "fork_race.toml"])
def test_examples_parse_and_name_only_the_blogs_nodes(name):
    script = load_script(ROOT / "examples" / name)
    assert script.description
    assert len(script.steps) >= 10
    assert {s.do for s in script.steps} <= set(STEPS)
    assert any(s.do == "expect" for s in script.steps)
    script.check_nodes(["node1", "node2", "node3"])  # raises if a step names another node


def test_steps_and_labels(tmp_path):
    script = load_script(
        write(
            tmp_path,
            """
[[step]]
do = "mine"
node = "node1"
count = 3
[[step]]
do = "add_transaction"
node = "node1"
sender = "PublicKeya"
receiver = "PublicKeyb"
amount = 1000
[[step]]
do = "expect"
consensus = true
balance = { PublicKeyb = 1000 }
""",
        )
    )
    labels = [s.label() for s in script.steps]
    assert labels == [
        "mine node1 x3",
        "add_transaction node1 PublicKeya -> PublicKeyb 1000",
        "expect consensus=true balance={PublicKeyb=1000}",
    ]
    assert [s.number for s in script.steps] == [1, 2, 3]
    assert script.steps[1].line == 6


def test_unknown_action(tmp_path):
    err = error_of(tmp_path, '[[step]]\ndo = "connect"\n\n[[step]]\ndo = "dance"\n')
    assert (err.step, err.key, err.line) == (2, "do", 5)
    assert "unknown action 'dance'" in str(err)
    assert "script.toml, line 5, step 2, key 'do'" in str(err)


def test_unknown_key_wrong_type_missing_key(tmp_path):
    err = error_of(tmp_path, '[[step]]\ndo = "mine"\nnode = "node1"\ncolor = 1\n')
    assert (err.step, err.key, err.line) == (1, "color", 4)
    err = error_of(tmp_path, '[[step]]\ndo = "mine"\nnode = "node1"\ncount = "3"\n')
    assert (err.key, err.line) == ("count", 4) and "integer" in str(err)
    err = error_of(tmp_path, '[[step]]\ndo = "add_transaction"\nnode = "node1"\n')
    assert err.step == 1 and "needs 'sender'" in str(err)
    err = error_of(tmp_path, '[[step]]\ndo = "expect"\nnode = "node1"\n')
    assert "at least one of" in str(err)
    err = error_of(tmp_path, '[[step]]\ndo = "expect"\nlength = -1\n')
    assert err.key == "length"


def test_empty_and_broken_scripts(tmp_path):
    assert "no steps" in str(error_of(tmp_path, 'description = "x"\n'))
    err = error_of(tmp_path, '[[step]]\ndo = "mine\n')
    assert err.line == 2 and "not valid TOML" in str(err)
    err = error_of(tmp_path, 'stepz = 1\n[[step]]\ndo = "connect"\n')
    assert err.key == "stepz" and err.line == 1


def test_unknown_node_names_step_key_and_line(tmp_path):
    script = load_script(write(tmp_path, '[[step]]\ndo = "connect"\n[[step]]\n'
                                         'do = "mine"\nnode = "node9"\n'))  # fmt: skip
    with pytest.raises(ScriptError) as info:
        script.check_nodes(["node1", "node2"])
    assert (info.value.step, info.value.key, info.value.line) == (2, "node", 5)
    assert "no node named 'node9'" in str(info.value)
    ok = load_script(write(tmp_path, '[[step]]\ndo = "mine"\nnode = "all"\n'))
    ok.check_nodes(["node1"])  # "all" is fine where several nodes make sense
