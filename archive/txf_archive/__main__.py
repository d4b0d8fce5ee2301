"""`python -m txf_archive` = `txf-archive`."""

import sys

from txf_archive.cli import main

sys.exit(main())
