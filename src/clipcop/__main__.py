"""``python -m clipcop`` (and ``torchrun -m clipcop``) runs the command line."""

import sys

from clipcop.cli.launch import main

sys.exit(main())
