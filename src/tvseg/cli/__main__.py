"""``python -m tvseg.cli``: the command line without the installed ``tvseg`` script (a GPU box)."""

import sys

from tvseg.cli import main

sys.exit(main())
