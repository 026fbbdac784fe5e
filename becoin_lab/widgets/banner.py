"""The banner: where the network stands, in one line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from becoin_lab.diff import ChainDiff


def banner_text(diff: ChainDiff, total: int) -> tuple[str, str]:
    """The banner's words and its mood ('agree', 'diverged', 'down')."""
    down = f" ({', '.join(diff.down)} down)" if diff.down else ""
    if not diff.groups:
        return f"0/{total} nodes answer: every node is down", "down"
    if diff.consensus:
        name = diff.groups[0][0]
        height = diff.lengths[name]
        agree = len(diff.groups[0])
        return f"{agree}/{total} nodes agree at height {height}{down}", (
            "agree" if not diff.down else "down"
        )
    at = diff.fork_point if diff.fork_point is not None else diff.common_prefix + 1
    groups = " | ".join(", ".join(group) for group in diff.groups)
    return f"diverged at block {at}: {groups}{down}", "diverged"


def side_letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else str(i + 1)


def sides_text(sides: list[list[str]]) -> str:
    """'A: node1 | B: node2, node3': the partition's sides, lettered as in the headers."""
    return " | ".join(f"{side_letter(i)}: {', '.join(s)}" for i, s in enumerate(sides))


class Banner(Static):
    """One line over the panels: agreement, divergence, or start-up progress."""

    DEFAULT_CLASSES = "-starting"

    def show_diff(
        self,
        diff: ChainDiff,
        total: int,
        sides: list[list[str]] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        """Agreement or divergence; with ``sides`` the partition first ('cut A: ... | B:
        ...'), then ``notes`` (a forgery's outcome, traffic), each after a ' · '."""
        words, mood = banner_text(diff, total)
        self.set_classes(f"-{mood}")
        marker = {"agree": "= ", "diverged": "X ", "down": "! "}[mood]
        parts = [f"cut {sides_text(sides)}"] if sides else []
        parts += [words, *(notes or [])]
        self.update(
            Text(marker + " · ".join(parts), no_wrap=True, overflow="ellipsis"), layout=False
        )

    def show_message(self, words: str, mood: str = "starting") -> None:
        self.set_classes(f"-{mood}")
        self.update(Text(words), layout=False)
