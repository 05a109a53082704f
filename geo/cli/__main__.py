"""``python -m geo.cli``: the ``lianpian`` command."""

import sys

from geo.cli import main

sys.exit(main())
