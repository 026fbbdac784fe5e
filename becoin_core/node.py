"""The node's HTTP API: the blog's routes, exactly, plus a few of our own.

Flask's application factory: create_app(config) builds a Blockchain on a Store
and serves it. Every error is JSON with a 4xx status; nothing a client sends
gives a 500.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from becoin_core import __version__, requests_in
from becoin_core.blockchain import (
    Blockchain,
    ForgeError,
    MiningCancelled,
    TransactionRefused,
)
from becoin_core.config import NodeConfig
from becoin_core.faults import ADMIN_HEADER, PEER_HEADER, Refused
from becoin_core.openapi import openapi_spec
from becoin_core.store import Store

MAX_BODY = 1024 * 1024
VALID_MESSAGE = "All good. The Blockchain is valid."
INVALID_MESSAGE = "Houston, we have a problem. The Blockchain is not valid."
REPLACED_MESSAGE = "The nodes had different chains, so the chain was replaced with the longest one."
KEPT_MESSAGE = "The chain is the largest one."

log = logging.getLogger("becoin_core.node")


def _body() -> Any:
    """The request's JSON body, or a BadRequest that says what is wrong with it."""
    data = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not data.strip():
        raise requests_in.BadRequest("The body is empty: send a JSON object")
    try:
        return request.get_json(force=True, silent=False)
    except HTTPException as exc:
        raise requests_in.BadRequest("The body is not valid JSON") from exc


def _raw_json(text: str, status: int = 200) -> Response:
    """An answer already encoded: the chain's JSON is cached, not re-encoded."""
    return Response(text + "\n", status=status, mimetype="application/json")


def create_app(config: NodeConfig | None = None, blockchain: Blockchain | None = None) -> Flask:
    config = config or NodeConfig()
    if blockchain is None:
        blockchain = Blockchain(config, Store(config.data_dir))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # blocks keep the blog's key order on the wire
    app.extensions["becoin"] = blockchain

    @app.errorhandler(requests_in.BadRequest)
    def bad_request(exc: requests_in.BadRequest):
        return jsonify({"message": exc.message, **exc.extra}), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 404:
            message = f"No route {request.path}: see GET /openapi.json for the node's API"
        elif code == 405:
            allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or [])) or "another"
            message = f"{request.method} is not allowed on {request.path}: use {allowed}"
        elif code == 413:
            message = f"The body is over {MAX_BODY} bytes"
        else:
            message = exc.description or exc.name
        return jsonify({"message": message}), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # a bug of ours: say so, keep serving
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify({"message": f"internal error: {type(exc).__name__}"}), 500

    @app.before_request
    def peer_faults():
        """Simulated faults on traffic from other nodes; the admin routes need the token."""
        if request.path.startswith("/admin/"):
            token = config.admin_token
            if token is None:
                return jsonify({"message": "admin routes are off: this node was started "
                                           "without BECOIN_ADMIN_TOKEN"}), 403
            if not hmac.compare_digest(request.headers.get(ADMIN_HEADER, ""), token):
                return jsonify({"message": f"admin routes need the lab's {ADMIN_HEADER} "
                                           "header"}), 403
            return None
        try:
            delay = blockchain.faults.check(request.headers.get(PEER_HEADER))
        except Refused as exc:
            return jsonify({"message": str(exc)}), 403
        if delay:
            time.sleep(delay)
        return None

    @app.get("/get_chain")
    def get_chain():
        locator, since, longer_than = requests_in.chain_query(request.args)
        if locator is None and since is None and longer_than is None:
            chain, length = blockchain.chain_json()
            return _raw_json(f'{{"chain":{chain},"length":{length}}}')
        with blockchain.lock:  # one consistent view of length and blocks
            length = len(blockchain.chain)
            if longer_than is not None and length <= longer_than:
                start, blocks = length + 1, []
            else:
                start, blocks = blockchain.blocks_after(locator, since)
        return jsonify({"chain": blocks, "length": length, "start": start}), 200

    @app.get("/mine_block")
    def mine_block():
        try:
            block = blockchain.mine_block()
        except MiningCancelled as exc:
            return jsonify({"message": f"Not mined: {exc}"}), 503
        return jsonify({"message": "You just mined a block.", **block}), 200

    @app.get("/is_valid")
    def is_valid():
        problem = blockchain.problem()
        if problem is None:
            return jsonify({"message": VALID_MESSAGE, "valid": True}), 200
        return jsonify({"message": INVALID_MESSAGE, "valid": False, "problem": problem}), 200

    @app.post("/add_transaction")
    def add_transaction():
        tx = blockchain.rules.transaction(_body())
        try:
            index = blockchain.add_transaction(tx)
        except TransactionRefused as exc:
            raise requests_in.BadRequest(str(exc)) from exc
        return jsonify({"message": f"This transaction will be added to block {index}"}), 201

    @app.post("/connect_node")
    def connect_node():
        netlocs = requests_in.nodes(_body())
        try:
            total = blockchain.add_peers(netlocs)
        except ValueError as exc:
            raise requests_in.BadRequest(str(exc)) from exc
        return jsonify({
            "message": "All the nodes are now connected. "
            "The BeCoin Blockchain now contains the following nodes",
            "total_nodes": total,
        }), 201

    @app.get("/replace_chain")
    def replace_chain():
        result = blockchain.replace_chain()
        peers = json.dumps([o.as_json() for o in result.outcomes])
        chain, _ = blockchain.chain_json()
        if result.replaced:
            message, key = REPLACED_MESSAGE, "new_chain"
        else:
            message, key = KEPT_MESSAGE, "actual_chain"
        return _raw_json(f'{{"message":{json.dumps(message)},"{key}":{chain},"peers":{peers}}}')

    @app.post("/announce")
    def announce():
        peer = requests_in.announcement(_body())
        if peer not in blockchain.status()["peers"]:
            raise requests_in.BadRequest(f"{peer} is not a peer of this node: connect it first")
        scheduled = blockchain.sync_from(peer)
        return jsonify({"message": f"Syncing from {peer}" if scheduled
                        else f"A sync from {peer} is already pending"}), 202

    @app.get("/admin/faults")
    def get_faults():
        return jsonify(blockchain.faults.as_json()), 200

    @app.post("/admin/partition")
    def partition():
        blocked = requests_in.partition(_body())
        blockchain.faults.set_partition(blocked)
        return jsonify({"message": f"Refusing peer traffic with {len(blocked)} node(s)"
                        if blocked else "Partition healed", **blockchain.faults.as_json()}), 200

    @app.post("/admin/latency")
    def latency():
        ms, loss = requests_in.latency(_body())
        blockchain.faults.set_latency(ms, loss)
        return jsonify({"message": f"Peer traffic delayed {ms} ms, {loss:.0%} lost",
                        **blockchain.faults.as_json()}), 200

    @app.post("/admin/automine")
    def automine():
        every = requests_in.automine(_body())
        blockchain.set_automine(every)
        return jsonify({"message": f"Mining a block every {every:g} s" if every
                        else "Automine off", "automine": every}), 200

    @app.post("/admin/forge")
    def forge():
        if config.role != "forger":
            return jsonify({"message": "this node is honest: start it with --role forger "
                                       "to forge"}), 403
        victim = requests_in.victim(_body())
        try:
            forgery = blockchain.forge_from(victim)
        except ForgeError as exc:
            return jsonify({"message": f"Not forged: {exc}"}), 409
        return jsonify({"message": f"Forged: {forgery.description}",
                        "rewritten": forgery.rewritten, "changed": forgery.changed,
                        "length": len(forgery.chain)}), 200

    @app.get("/status")
    def status():
        return jsonify({**blockchain.status(), "version": __version__}), 200

    @app.get("/mempool")
    def mempool():
        return jsonify({"transactions": blockchain.transactions()}), 200

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_spec()), 200

    return app
