"""GET /openapi.json: every route of the node, for people and for schemathesis."""

from __future__ import annotations

from typing import Any

from becoin_core import __version__

_MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}}
_BLOCK = {
    "type": "object",
    "properties": {
        "index": {"type": "integer"},
        "timestamp": {"type": "string"},
        "nonce": {"type": "integer"},
        "previous_hash": {"type": "string"},
        "transactions": {"type": "array", "items": {"type": "object"}},
    },
}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or _MESSAGE}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi_spec() -> dict[str, Any]:
    error = _answer("the request is wrong; the message says how")
    chain_params = [
        {"name": "locator", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "comma-separated block hashes, newest first: answer the blocks after "
                        "the newest one this node holds"},
        {"name": "since", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0},
         "description": "answer the blocks with index > since"},
        {"name": "longer_than", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0},
         "description": "answer no blocks unless the chain is longer than this"},
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "becoin-node", "version": __version__,
                 "description": "The BeCoin blog's node API, plus status, mempool and "
                                "incremental chain fetches."},
        "paths": {
            "/get_chain": {"get": {
                "summary": "The whole chain (the blog's), or with a parameter only what is new",
                "parameters": chain_params,
                "responses": {"200": _answer("the chain", {"type": "object", "properties": {
                    "chain": {"type": "array", "items": _BLOCK},
                    "length": {"type": "integer"}, "start": {"type": "integer"}}}),
                    "400": error}}},
            "/mine_block": {"get": {
                "summary": "Mine a block with the mempool and a 10 BeCoin reward",
                "responses": {"200": _answer("the new block"), "503": error}}},
            "/is_valid": {"get": {"summary": "Check the whole chain",
                                  "responses": {"200": _answer("valid or not, in words")}}},
            "/add_transaction": {"post": {
                "summary": "Queue a transaction for the next block",
                "requestBody": _json_body({"type": "object",
                                           "required": ["sender", "receiver", "amount"],
                                           "properties": {
                                               "sender": {"type": "string"},
                                               "receiver": {"type": "string"},
                                               "amount": {"type": "number"}}}),
                "responses": {"201": _answer("the block it will go into"), "400": error,
                              "413": error}}},
            "/connect_node": {"post": {
                "summary": "Add peers",
                "requestBody": _json_body({"type": "object", "required": ["nodes"],
                                           "properties": {"nodes": {
                                               "type": "array",
                                               "items": {"type": "string"}}}}),
                "responses": {"201": _answer("every peer now known"), "400": error,
                              "413": error}}},
            "/replace_chain": {"get": {
                "summary": "Consensus: adopt the longest valid chain among the peers",
                "responses": {"200": _answer("new_chain when replaced, actual_chain when not")}}},
            "/status": {"get": {"summary": "Name, address, length, tip, mempool, peers, settings",
                                "responses": {"200": _answer("the node's state")}}},
            "/mempool": {"get": {"summary": "The transactions waiting for the next block",
                                 "responses": {"200": _answer("transactions")}}},
            "/openapi.json": {"get": {"summary": "This description",
                                      "responses": {"200": _answer("OpenAPI 3")}}},
        },
    }
