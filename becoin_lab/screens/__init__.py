"""Modal screens of the lab's terminal UI."""

from becoin_lab.screens.block import BlockScreen
from becoin_lab.screens.help import KEYS, HelpScreen
from becoin_lab.screens.transaction import TransactionScreen, check_transaction

__all__ = ["KEYS", "BlockScreen", "HelpScreen", "TransactionScreen", "check_transaction"]
