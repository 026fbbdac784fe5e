"""Talking to other nodes, bounded: a dead, slow, lying, endless or garbled peer
costs at most one deadline and is then skipped.

A socket timeout is per read, so a peer that trickles one byte a second would
never trip it: the body is read with read1() (at most one recv a call) against
an overall deadline, and against a byte cap.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from becoin_core import __version__

# Compressed answers could inflate past the byte cap: ask for none.
HEADERS = {"Accept-Encoding": "identity", "User-Agent": f"becoin-node/{__version__}"}


@dataclass(frozen=True)
class PeerLimits:
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    deadline: float = 10.0  # the whole call, connect to last byte
    max_bytes: int = 64 * 1024 * 1024


class PeerError(Exception):
    """A peer call that failed; `status` is the HTTP status when there was one."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class PeerAnswer:
    data: Any
    nbytes: int


def _split(netloc: str) -> tuple[str, int]:
    host, _, port = netloc.rpartition(":")
    return host.strip("[]"), int(port)


def get_json(
    netloc: str,
    path: str,
    params: dict[str, Any] | None = None,
    limits: PeerLimits = PeerLimits(),
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> PeerAnswer:
    """GET http://netloc/path (POST when there is a JSON `body`) and parse the
    JSON answer, within `limits`.

    http.client rather than requests: a consensus round is many tiny calls,
    and requests' per-call overhead was most of an unchanged round's time.
    """
    target = path + ("?" + urlencode(params) if params else "")
    started = time.monotonic()
    host, port = _split(netloc)
    conn = http.client.HTTPConnection(host, port, timeout=limits.connect_timeout)
    try:
        try:
            conn.connect()
            conn.sock.settimeout(limits.read_timeout)
            all_headers = {**HEADERS, **(headers or {})}
            if body is None:
                conn.request("GET", target, headers=all_headers)
            else:
                all_headers["Content-Type"] = "application/json"
                conn.request("POST", target, body=json.dumps(body).encode(), headers=all_headers)
            response = conn.getresponse()
        except TimeoutError as exc:
            raise PeerError("timed out") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise PeerError("connection failed (refused, reset, or not speaking HTTP)") from exc
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise PeerError(f"answer too large ({declared} bytes, cap {limits.max_bytes})")
        body = bytearray()
        while True:
            if time.monotonic() - started > limits.deadline:
                raise PeerError(f"too slow (no full answer within {limits.deadline:g} s)")
            try:
                chunk = response.read1(65536)
            except TimeoutError as exc:
                raise PeerError("timed out") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise PeerError(f"broken answer: {type(exc).__name__}") from exc
            if not chunk:
                break
            body += chunk
            if len(body) > limits.max_bytes:
                raise PeerError(f"answer too large (over the {limits.max_bytes}-byte cap)")
    finally:
        conn.close()
    if response.status not in (200, 201, 202):
        raise PeerError(f"answered HTTP {response.status}", response.status)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PeerError("answered something that is not JSON") from exc
    return PeerAnswer(data, len(body))


def netloc_of(address: str) -> str | None:
    """The blog's add_node: 'http://127.0.0.1:5002' -> '127.0.0.1:5002'.

    Also takes a bare 'host:port'. Answers None when it is neither.
    """
    from urllib.parse import urlsplit

    text = address.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}"
