"""``python -m nanokernel ...``: the same as the ``nanokernel`` console script."""

import sys

from nanokernel.cli import main

sys.exit(main())
