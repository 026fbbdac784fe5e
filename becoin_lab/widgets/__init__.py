"""Widgets of the lab's terminal UI (Textual is imported only below becoin_lab.app)."""

from becoin_lab.widgets.banner import Banner
from becoin_lab.widgets.node_panel import NodePanel

__all__ = ["Banner", "NodePanel"]
