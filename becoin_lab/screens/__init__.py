"""Modal screens of the lab's terminal UI."""

from becoin_lab.screens.block import BlockScreen
from becoin_lab.screens.faults import LatencyScreen, PartitionScreen, check_groups, check_latency
from becoin_lab.screens.help import KEYS, HelpScreen
from becoin_lab.screens.transaction import TransactionScreen, check_transaction

__all__ = [
    "KEYS",
    "BlockScreen",
    "HelpScreen",
    "LatencyScreen",
    "PartitionScreen",
    "TransactionScreen",
    "check_groups",
    "check_latency",
    "check_transaction",
]
