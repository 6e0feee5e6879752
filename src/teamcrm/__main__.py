"""``python -m teamcrm``: the command line."""

import sys

from teamcrm.cli import main

sys.exit(main())
