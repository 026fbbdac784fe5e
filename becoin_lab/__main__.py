"""python -m becoin_lab"""

import sys

from becoin_lab.cli import main

sys.exit(main())
