"""One block, whole: its fields and every transaction."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class BlockScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, node: str, block: dict[str, Any], block_hash: str) -> None:
        super().__init__(classes="modal")
        self.node = node
        self.block = block
        self.block_hash = block_hash

    def compose(self) -> ComposeResult:
        block = self.block
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = f"{self.node}: block {block.get('index')}"
            lines = [f"hash          {self.block_hash}"]
            for key in ("index", "timestamp", "nonce", "previous_hash"):
                lines.append(f"{key:<13} {block.get(key)}")
            txs = block.get("transactions") or []
            lines.append(f"transactions  {len(txs)}")
            for tx in txs:
                lines.append("  " + json.dumps(tx, sort_keys=True))
            yield Static("\n".join(lines), markup=False, id="block-body")
            yield Static("escape: close", classes="hint")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
