"""`python -m txf_consumer` = `txf-consume`."""

import sys

from txf_consumer.cli import main

sys.exit(main())
