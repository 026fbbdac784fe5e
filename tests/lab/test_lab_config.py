"""lab.toml: the schema, the shorthand, and errors that name file, key and line."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from labtools import BECOIN_LAB, ROOT, lab_toml

from becoin_lab.config import check_ports_free, load_config
from becoin_lab.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_repository_lab_toml_is_the_blogs_network():
    cfg = load_config(ROOT / "lab.toml")
    assert [(n.name, n.port) for n in cfg.nodes] == [
        ("node1", 5001),
        ("node2", 5002),
        ("node3", 5003),
    ]
    assert cfg.difficulty == 4
    assert cfg.data_dir == ROOT / ".becoin-lab"
    assert all(n.managed for n in cfg.nodes)


def test_shorthand_makes_many_nodes(tmp_path):
    cfg = load_config(write(tmp_path, "[lab]\nnodes = 20\nbase_port = 6001\ndifficulty = 2\n"))
    assert cfg.names == [f"node{i}" for i in range(1, 21)]
    assert [n.port for n in cfg.nodes] == list(range(6001, 6021))
    assert cfg.difficulty == 2


def test_shorthand_port_zero_lets_every_node_pick(tmp_path):
    cfg = load_config(write(tmp_path, '[lab]\nnodes = 3\nbase_port = 0\nname_prefix = "n"\n'))
    assert cfg.names == ["n1", "n2", "n3"]
    assert {n.port for n in cfg.nodes} == {0}


def test_attached_node_starts_nothing(tmp_path):
    cfg = load_config(write(tmp_path, '[[nodes]]\nname = "far"\nurl = "http://10.0.0.7:5001/"\n'))
    node = cfg.node("far")
    assert not node.managed
    assert node.base_url == "http://10.0.0.7:5001"


def test_unknown_key_names_file_key_and_line(tmp_path):
    err = error_of(tmp_path, '[lab]\ndifficulty = 2\n\n[[nodes]]\nname = "a"\nport = 1\nprot = 2\n')
    assert err.key == "nodes[0].prot"
    assert err.line == 7
    assert str(tmp_path / "lab.toml") in str(err)
    assert "line 7" in str(err) and "unknown key" in str(err)


def test_wrong_type_names_key_and_line(tmp_path):
    err = error_of(tmp_path, '[lab]\ndifficulty = "four"\n[[nodes]]\nname = "a"\nport = 1\n')
    assert err.key == "lab.difficulty"
    assert err.line == 2
    assert "integer" in str(err)


def test_difficulty_out_of_range(tmp_path):
    err = error_of(tmp_path, '[lab]\ndifficulty = 0\n[[nodes]]\nname = "a"\nport = 1\n')
    assert err.key == "lab.difficulty" and "between 1 and 10" in str(err)


def test_duplicate_names_and_ports(tmp_path):
    two = '[[nodes]]\nname = "a"\nport = 5001\n\n[[nodes]]\nname = "{}"\nport = {}\n'
    err = error_of(tmp_path, two.format("a", 5002))
    assert err.key == "nodes[1].name" and err.line == 6 and "duplicate name" in str(err)
    err = error_of(tmp_path, two.format("b", 5001))
    assert err.key == "nodes[1].port" and err.line == 7 and "duplicate port" in str(err)


def test_toml_syntax_error_gives_the_line(tmp_path):
    err = error_of(tmp_path, '[lab]\ndifficulty = 2\n[[nodes]]\nname = "a\nport = 1\n')
    assert err.line == 4
    assert "not valid TOML" in str(err)


def test_missing_pieces(tmp_path):
    assert "no nodes" in str(error_of(tmp_path, "[lab]\ndifficulty = 2\n"))
    err = error_of(tmp_path, "[[nodes]]\nport = 5001\n")
    assert err.key == "nodes[0].name"
    err = error_of(tmp_path, '[[nodes]]\nname = "a"\n')
    assert err.key == "nodes[0].port"
    err = error_of(tmp_path, '[lab]\nnodes = 2\n[[nodes]]\nname = "a"\nport = 1\n')
    assert "not both" in str(err)
    err = error_of(tmp_path, '[[nodes]]\nname = "a"\nurl = "ftp://x"\n')
    assert err.key == "nodes[0].url"


def test_port_in_use_is_found_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = lab_toml(tmp_path, ports={"node2": port})
        cfg = load_config(path)
        port_line = path.read_text().splitlines().index(f"port = {port}") + 1
        with pytest.raises(ConfigError) as info:
            check_ports_free(cfg)
        assert info.value.key == "nodes[1].port"
        assert info.value.line == port_line
        assert f"port {port} (node2) is already in use" in str(info.value)
        # the CLI: exit 2, the message, no traceback
        proc = subprocess.run(
            [*BECOIN_LAB, "check", "--config", str(tmp_path / "lab.toml")],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2
    assert "already in use" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "labdata").exists() is False  # nothing started, nothing written


def test_cli_config_error_exit_2_without_traceback(tmp_path):
    bad = write(tmp_path, '[lab]\ncolour = "blue"\n[[nodes]]\nname = "a"\nport = 1\n')
    proc = subprocess.run(
        [*BECOIN_LAB, "run", str(ROOT / "examples/fork_race.toml"), "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "lab.toml, line 2, key 'lab.colour': unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr
