"""``python -m nanokernel.mount MOUNTPOINT [--disk PATH | --ramdisk]``."""

import sys

from nanokernel.mount.command import main

sys.exit(main())
