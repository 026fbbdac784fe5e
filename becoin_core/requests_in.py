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
        netloc = netloc_of(item) if isinstance(item, str) and len(item) <= 300 else None
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

