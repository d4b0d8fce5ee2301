"""A scripted Shioaji session for the capture-leg instances of test_systemd_service.py only.

Copied into the container with tests/producer/fake_shioaji.py and tests/e2e/live_with_fake_shioaji.py
and put on the producer's PYTHONPATH by a test drop-in on txf-producer@.service; Python imports
`sitecustomize` at start-up. It makes the live source's client the scripted fake of
live_with_fake_shioaji.py (every call checked against the installed shioaji's signatures), which
plays TXF_FAKE_QUOTES quotes of one seeded market after both subscriptions: every leg, and every
restart of a leg, receives the same quotes, as two logins to one exchange feed would. The shipped
ExecStart= (`txf-producer run --source shioaji`) and everything else of the unit stay in force.
"""

import os

if os.environ.get("TXF_FAKE_QUOTES"):  # the producer's environment (not a helper's that shares the path)
    os.environ.setdefault("SJ_LOG_PATH", os.path.join(os.getcwd(), "shioaji.log"))  # as prepare_shioaji_log does

    from live_with_fake_shioaji import ScriptedShioaji

    from txf_producer.sources import shioaji_live

    quotes = int(os.environ["TXF_FAKE_QUOTES"])
    shioaji_live.default_api_factory = lambda config: ScriptedShioaji(quotes)
