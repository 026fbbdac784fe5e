"""Talking to other nodes, bounded: a dead, slow, lying, endless or garbled peer
costs at most one deadline and is then skipped.

requests' read timeout is per socket read, so a peer that trickles one byte a
second would never trip it: the body is read with read1() (at most one recv a
call) against an overall deadline, and against a byte cap.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from becoin_core import __version__


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


def new_session() -> requests.Session:
    session = requests.Session()
    # Compressed answers could inflate past the byte cap: ask for none.
    session.headers.update(
        {"Accept-Encoding": "identity", "User-Agent": f"becoin-node/{__version__}"}
    )
    # Peers are on the lab's network: never route them through a proxy from the environment.
    session.trust_env = False
    return session


def get_json(
    session: requests.Session,
    netloc: str,
    path: str,
    params: dict[str, Any] | None = None,
    limits: PeerLimits = PeerLimits(),
) -> PeerAnswer:
    url = f"http://{netloc}{path}"
    if params:
        url += "?" + urlencode(params)
    started = time.monotonic()
    try:
        response = session.get(
            url, timeout=(limits.connect_timeout, limits.read_timeout), stream=True
        )
    except requests.Timeout as exc:
        raise PeerError("timed out") from exc
    except requests.ConnectionError as exc:
        raise PeerError("connection failed (refused, reset, or not speaking HTTP)") from exc
    except requests.RequestException as exc:
        raise PeerError(f"request failed: {type(exc).__name__}") from exc
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise PeerError(f"answer too large ({declared} bytes, cap {limits.max_bytes})")
        body = bytearray()
        while True:
            if time.monotonic() - started > limits.deadline:
                raise PeerError(f"too slow (no full answer within {limits.deadline:g} s)")
            try:
                chunk = response.raw.read1(65536)
            except Exception as exc:  # urllib3 raises several kinds on a broken stream
                if "timed out" in str(exc).lower():
                    raise PeerError("timed out") from exc
                raise PeerError(f"broken answer: {type(exc).__name__}") from exc
            if not chunk:
                break
            body += chunk
            if len(body) > limits.max_bytes:
                raise PeerError(f"answer too large (over the {limits.max_bytes}-byte cap)")
    finally:
        response.close()
    if response.status_code != 200:
        raise PeerError(f"answered HTTP {response.status_code}", response.status_code)
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
