"""``python -m core.tasks analyze-child`` (internal: the analyze actor's child process)."""

import sys

from core.tasks.child import main

sys.exit(main())
