"""SQLite persistence of one node: chain, mempool, peers and identity.

Every change is one SQL transaction committed before the node answers, so a
SIGKILL at any moment loses nothing that was acknowledged. WAL with
synchronous=NORMAL is durable against a process crash (only a power cut could
lose the last commits), and keeps readers off the writer's back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from becoin_core.chain import Block, Transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (idx INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mempool (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS peers (netloc TEXT PRIMARY KEY);
"""

DB_NAME = "node.sqlite3"


class StoreError(Exception):
    """The data folder can't be opened or holds something that isn't a node's data."""


@dataclass
class Loaded:
    chain: list[Block]
    mempool: list[tuple[int, Transaction]]
    peers: list[str]
    meta: dict[str, str] = field(default_factory=dict)


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Store:
    """One node's database. Callers serialise writes (the node holds its lock);
    the store's own lock only guards the connection object itself."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self.path: Path | None = None
        if data_dir is None:
            target = ":memory:"
        else:
            directory = Path(data_dir)
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create data folder {directory}: {exc.strerror}") from exc
            self.path = directory / DB_NAME
            target = str(self.path)
        try:
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use {target} as a node database: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int | None]:
        """Run statements in one transaction; answers each statement's lastrowid."""
        rowids: list[int | None] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    rowids.append(self._db.execute(sql, params).lastrowid)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rowids

    def load(self) -> Loaded:
        with self._lock:
            try:
                chain = [json.loads(b) for (b,) in self._db.execute(
                    "SELECT body FROM blocks ORDER BY idx")]
                mempool = [(s, json.loads(b)) for s, b in self._db.execute(
                    "SELECT seq, body FROM mempool ORDER BY seq")]
                peers = [p for (p,) in self._db.execute("SELECT netloc FROM peers ORDER BY netloc")]
                meta = dict(self._db.execute("SELECT key, value FROM meta"))
            except (sqlite3.DatabaseError, ValueError) as exc:
                raise StoreError(f"the node database is unreadable: {exc}") from exc
        return Loaded(chain, mempool, peers, meta)

    def set_meta(self, key: str, value: str) -> None:
        self._tx([("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))])

    def append_block(self, block: Block, taken_seqs: list[int]) -> None:
        """Add a mined block and drop the mempool rows it took, atomically."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("INSERT INTO blocks (idx, body) VALUES (?, ?)", (block["index"], _dump(block)))
        ]
        statements += [("DELETE FROM mempool WHERE seq = ?", (s,)) for s in taken_seqs]
        self._tx(statements)

    def add_transaction(self, tx: Transaction) -> int:
        (seq,) = self._tx([("INSERT INTO mempool (body) VALUES (?)", (_dump(tx),))])
        assert seq is not None
        return seq

    def replace_chain(
        self, keep: int, new_blocks: list[Block], mempool: list[Transaction]
    ) -> list[int]:
        """Keep the first `keep` blocks, append `new_blocks`, and set the mempool,
        atomically. Answers the new mempool rows' sequence numbers."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM blocks WHERE idx > ?", (keep,)),
            ("DELETE FROM mempool", ()),
        ]
        statements += [
            ("INSERT INTO blocks (idx, body) VALUES (?, ?)", (b["index"], _dump(b)))
            for b in new_blocks
        ]
        first = len(statements)
        statements += [("INSERT INTO mempool (body) VALUES (?)", (_dump(t),)) for t in mempool]
        rowids = self._tx(statements)[first:]
        return [r for r in rowids if r is not None]

    def add_peers(self, netlocs: list[str]) -> None:
        self._tx([("INSERT OR IGNORE INTO peers (netloc) VALUES (?)", (n,)) for n in netlocs])
