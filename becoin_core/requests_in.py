"""Checks on what clients send: each failure is a message a person can act on."""

from __future__ import annotations

import re
from typing import Any

from becoin_core.chain import TRANSACTION_KEYS, Transaction, is_amount
from becoin_core.peers import netloc_of

MAX_TEXT = 256  # sender / receiver length
MAX_AMOUNT = 10**15
MAX_NODES_PER_REQUEST = 64
MAX_LOCATOR = 64
HASH_RE = re.compile(r"[0-9a-f]{64}")
MISSING_MESSAGE = "Some elements of the transaction are missing"


class BadRequest(Exception):
    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


def transaction(body: Any) -> Transaction:
    if not isinstance(body, dict):
        raise BadRequest(
            "The body must be a JSON object with sender, receiver and amount, "
            'for example {"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": 1000}'
        )
    missing = [k for k in TRANSACTION_KEYS if k not in body]
    if missing:
        raise BadRequest(MISSING_MESSAGE, missing=missing)
    for key in ("sender", "receiver"):
        value = body[key]
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{key} must be a non-empty string")
        if len(value) > MAX_TEXT:
            raise BadRequest(f"{key} must be at most {MAX_TEXT} characters")
    amount = body["amount"]
    if not is_amount(amount) or amount > MAX_AMOUNT:
        raise BadRequest(
            f"amount must be a finite number greater than 0 and at most {MAX_AMOUNT} "
            f"(got {amount!r:.40})"
        )
    # Exactly the blog's three keys: extra ones would be carried into blocks unchecked.
    extra = sorted(set(body) - set(TRANSACTION_KEYS))
    if extra:
        raise BadRequest(f"unknown keys {extra}: a transaction has sender, receiver and amount")
    return {"sender": body["sender"], "receiver": body["receiver"], "amount": amount}


def nodes(body: Any) -> list[str]:
    if not isinstance(body, dict):
        raise BadRequest(
            'The body must be a JSON object like {"nodes": ["http://127.0.0.1:5002"]}'
        )
    listed = body.get("nodes")
    if listed is None:
        raise BadRequest("No node")
    if not isinstance(listed, list) or not listed:
        raise BadRequest("nodes must be a non-empty list of node URLs like http://127.0.0.1:5002")
    if len(listed) > MAX_NODES_PER_REQUEST:
        raise BadRequest(f"at most {MAX_NODES_PER_REQUEST} nodes per request")
    netlocs = []
    for item in listed:
        netloc = _netloc(item)
        if netloc is None:
            raise BadRequest(
                f"{str(item)[:80]!r} is not a node address: "
                "give an http(s) URL with a port, like http://127.0.0.1:5002, or host:port"
            )
        netlocs.append(netloc)
    return netlocs


def chain_query(args: Any) -> tuple[list[str] | None, int | None, int | None]:
    """get_chain's optional incremental parameters: locator, since, longer_than."""
    locator = since = longer_than = None
    if "locator" in args:
        locator = [h for h in args["locator"].split(",") if h]
        if len(locator) > MAX_LOCATOR or not all(HASH_RE.fullmatch(h) for h in locator):
            raise BadRequest(
                f"locator must be up to {MAX_LOCATOR} comma-separated block hashes "
                "(64 lowercase hex characters each)"
            )
    for name in ("since", "longer_than"):
        if name in args:
            raw = args[name]
            if not raw.isdigit() or len(raw) > 12:
                raise BadRequest(f"{name} must be a whole number >= 0")
            if name == "since":
                since = int(raw)
            else:
                longer_than = int(raw)
    if locator is not None and since is not None:
        raise BadRequest("give locator or since, not both")
    return locator, since, longer_than



def _object(body: Any, example: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object like {example}")
    return body


def _netloc(value: Any) -> str | None:
    return netloc_of(value) if isinstance(value, str) and len(value) <= 300 else None


def announcement(body: Any) -> str:
    netloc = _netloc(_object(body, '{"peer": "127.0.0.1:5001"}').get("peer"))
    if netloc is None:
        raise BadRequest("peer must be the announcing node's host:port")
    return netloc


def partition(body: Any) -> list[str]:
    body = _object(body, '{"blocked": ["127.0.0.1:5002"]}')
    blocked = body.get("blocked")
    if not isinstance(blocked, list) or len(blocked) > 1024:
        raise BadRequest("blocked must be a list of host:port (empty to heal)")
    netlocs = []
    for item in blocked:
        netloc = _netloc(item)
        if netloc is None:
            raise BadRequest(f"{str(item)[:80]!r} in blocked is not a host:port")
        netlocs.append(netloc)
    return netlocs


def latency(body: Any) -> tuple[int, float]:
    body = _object(body, '{"ms": 200, "loss": 0.1}')
    ms, loss = body.get("ms", 0), body.get("loss", 0)
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= 60_000:
        raise BadRequest("ms must be a whole number of milliseconds from 0 to 60000")
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss <= 1:
        raise BadRequest("loss must be a number from 0 to 1")
    return ms, float(loss)


def automine(body: Any) -> float | None:
    body = _object(body, '{"every": 2.0} or {"every": null}')
    if "every" not in body:
        raise BadRequest("every is missing: seconds between blocks, or null to stop")
    every = body["every"]
    if every is None:
        return None
    if not is_amount(every) or not 0.05 <= every <= 3600:
        raise BadRequest("every must be a number of seconds from 0.05 to 3600, or null to stop")
    return float(every)


def victim(body: Any) -> str:
    netloc = _netloc(_object(body, '{"victim": "127.0.0.1:5001"}').get("victim"))
    if netloc is None:
        raise BadRequest("victim must be the host:port of the node whose chain to forge")
    return netloc
