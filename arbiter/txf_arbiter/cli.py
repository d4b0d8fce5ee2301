"""`txf-arbiter run`: read every capture leg, write each quote once to the canonical topics.

Settings: the kit's shared ones (TXF_KAFKA_*, TXF_REGISTRY_*, TXF_TOPIC_PREFIX, TXF_CAPTURE_LEGS,
TXF_HOLIDAYS*, ...) and TXF_ARBITER_* (see .env.example). Run two: the oldest writes, the other
stands by and takes over within the session timeout. Exit: 0 stopped, 1 fatal (systemd restarts it),
77 not authorized by Kafka's ACLs, 78 settings or credentials rejected (neither is restarted).
"""

from __future__ import annotations

import argparse
import sys

from txf_arbiter.service import ArbiterService
from txf_arbiter.settings import ArbiterSettings
from txf_kit.logs import setup_logging
from txf_kit.service import EXIT_CONFIG
from txf_kit.settings import SettingsError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="txf-arbiter", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="join the arbiter group; write while active, stand by otherwise")
    parser.parse_args(argv)
    try:
        settings = load(ArbiterSettings)
        settings.read_legs()
    except SettingsError as exc:
        print(f"txf-arbiter: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level)
    code = ArbiterService(settings).run()
    return code


if __name__ == "__main__":
    sys.exit(main())
