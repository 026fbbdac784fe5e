"""A becoin-node with reproducible hashes: --fixed-clock and an address derived from its name.

The lab starts it as its node command (``Lab(config, node_command=FIXED_NODE)``), so the same
key presses give the same blocks, hashes and screen on every run; node names stay distinct
addresses, so two nodes mining at the same height still fork.
"""

from __future__ import annotations

import hashlib
import os
import sys

from becoin_lab.supervisor import default_node_command


def main() -> None:
    args = sys.argv[1:]
    name = args[args.index("--name") + 1] if "--name" in args else "node"
    address = hashlib.sha256(name.encode()).hexdigest()[:32]
    command = [*default_node_command(), *args, "--fixed-clock", "--address", address]
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
