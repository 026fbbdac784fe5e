"""`becoin-node`: serve one node with waitress."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import sys
import threading
from pathlib import Path

from becoin_core import __version__
from becoin_core.blockchain import Blockchain
from becoin_core.chain import DEFAULT_DIFFICULTY
from becoin_core.config import (
    MAX_DIFFICULTY,
    PROPAGATION,
    ROLES,
    RULES,
    SYNC_MODES,
    NodeConfig,
)
from becoin_core.node import create_app
from becoin_core.peers import PeerLimits
from becoin_core.store import Store, StoreError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{value:g} is not between 0 and 600 seconds")
    return value


def _name(text: str) -> str:
    if not NAME_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return text


def _address(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not 32 lowercase hex digits (a uuid4 hex)")
    return text


def _miner(text: str) -> str:
    if not text.strip() or len(text) > 256:
        raise argparse.ArgumentTypeError("the miner must be 1-256 characters")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="becoin-node",
        description="One BeCoin node: the blog's Flask blockchain API, served by waitress, "
        "kept in SQLite, safe against dead or hostile peers.",
        epilog="Example, the blog's three consoles: becoin-node --port 5001, "
        "becoin-node --port 5002, becoin-node --port 5003.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 to serve other "
                        "machines, for example a classroom)")
    p.add_argument("--port", type=_int_in(0, 65535), default=5000,
                   help="port to listen on (default 5000, as in the blog; 0 picks a free one "
                        "and prints it)")
    p.add_argument("--name", type=_name, default=None,
                   help="the node's name, shown in /status and the lab (default node-PORT)")
    store = p.add_mutually_exclusive_group()
    store.add_argument("--data-dir", type=Path, default=None,
                       help="folder for the node's SQLite database: chain, mempool, peers and "
                            "address survive restarts (default .becoin/NAME)")
    store.add_argument("--memory", action="store_true",
                       help="keep everything in memory: a throwaway node, gone when it stops")
    p.add_argument("--difficulty", type=_int_in(1, MAX_DIFFICULTY), default=DEFAULT_DIFFICULTY,
                   help="leading zeros the nonce puzzle needs (default 4, the blog's '0000')")
    p.add_argument("--miner", type=_miner, default="Receiver",
                   help="who receives the 10 BeCoin mining reward (default 'Receiver', "
                        "as in the blog)")
    p.add_argument("--sync", choices=SYNC_MODES, default="incremental",
                   help="how replace_chain fetches peers' chains: 'incremental' asks only for "
                        "blocks it lacks (default); 'full' downloads every chain, as the blog does")
    p.add_argument("--propagation", choices=PROPAGATION, default="manual",
                   help="'manual' (default, the blog's): blocks spread only when a node runs "
                        "replace_chain; 'broadcast': a node announces each block it mines or "
                        "adopts to its peers, which sync from it")
    p.add_argument("--rules", choices=RULES, default="classic",
                   help="chain rules: 'classic' is the blog's (default); 'strict' adds "
                        "Ed25519-signed transactions with sequence numbers, balance checks, "
                        "proof of work over each block's contents and exactly one reward "
                        "per block (the miner must then be a public key; by default the "
                        "node makes a key of its own)")
    p.add_argument("--role", choices=ROLES, default="honest",
                   help="'forger' lets the lab ask this node to rewrite an honest chain "
                        "(POST /admin/forge): the attack strict rules defeat")
    p.add_argument("--peer-timeout", type=_seconds, default=5.0,
                   help="longest wait for one peer's whole answer, in seconds (default 5)")
    p.add_argument("--threads", type=_int_in(1, 64), default=8,
                   help="request threads (default 8)")
    p.add_argument("--watch-parent", action="store_true",
                   help="exit when the process that started this node dies (the lab uses this "
                        "so a killed lab leaves no nodes behind)")
    p.add_argument("--fixed-clock", action="store_true",
                   help="timestamps count from 2026-01-01 by block index instead of the wall "
                        "clock: with --address, the same actions give the same hashes (for "
                        "screenshots, tests and teaching)")
    p.add_argument("--address", type=_address, default=None,
                   help="the node's address (32 lowercase hex digits), which pays mining "
                        "rewards; default: a random uuid4, kept in the data folder")
    p.epilog += (" The /admin routes (partition, latency, automine) answer only requests "
                 "carrying the token given in the BECOIN_ADMIN_TOKEN environment variable.")
    p.add_argument("--version", action="version", version=f"becoin-node {__version__}")
    return p


def _watch_parent(stop: threading.Event) -> None:
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:  # re-parented: whoever started us is gone
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # Bind first: with --port 0 the port, and so the default name and data
    # folder, are only known once the socket has one.
    try:
        sock = _listen(args.host, args.port)
    except OSError as exc:
        print(f"becoin-node: cannot listen on {args.host}:{args.port}: {exc.strerror} "
              "(is another node already using this port? choose another with --port)",
              file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    name = args.name or f"node-{port}"
    data_dir = None if args.memory else (args.data_dir or Path(".becoin") / name)
    config = NodeConfig(
        name=name, host=args.host, port=port, data_dir=data_dir,
        difficulty=args.difficulty, miner=args.miner, sync=args.sync, rules=args.rules,
        fixed_clock=args.fixed_clock, address=args.address, propagation=args.propagation,
        role=args.role,
        admin_token=os.environ.get("BECOIN_ADMIN_TOKEN") or None,
        limits=PeerLimits(connect_timeout=min(2.0, args.peer_timeout),
                          read_timeout=args.peer_timeout, deadline=args.peer_timeout),
    )
    try:
        store = Store(data_dir)
        blockchain = Blockchain(config, store)
    except StoreError as exc:
        print(f"becoin-node: {exc}", file=sys.stderr)
        sock.close()
        return 1

    from waitress.server import create_server

    sock.listen(1024)
    server = create_server(create_app(config, blockchain), sockets=[sock],
                           threads=args.threads, ident="becoin-node")
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_signal)
    if args.watch_parent:
        threading.Thread(target=_watch_parent, args=(stop,), daemon=True).start()

    where = f"data in {data_dir}" if data_dir else "in memory"
    print(f"becoin-node {config.name} serving on {config.url} "
          f"(difficulty {config.difficulty}, {config.sync} sync, {where}, "
          f"address {blockchain.address})", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        blockchain.close()
        server.close()
        print(f"becoin-node {config.name} stopped", flush=True)
    return 0
