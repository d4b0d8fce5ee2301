"""txf-arbiter: several capture legs in, each exchange quote exactly once out, holes on the record.

A TXF book cannot be fetched from the broker afterwards, so every second no producer captured is
lost for good. Redundant producer legs (separate Shioaji connections) each publish under their own
topic prefix; the arbiter reads every leg and writes each quote to the canonical topics once, as
soon as the first leg delivers it, with its own run id and sequence per stream so readers' exact
loss detection keeps working. Stretches inside a session in which no leg delivered anything are
recorded twice: in band on the first record after them, and on the ledger topic (txf.v1.Gap).

| module        | job                                                                       |
|---------------|---------------------------------------------------------------------------|
| `identity.py` | a quote's identity: what the exchange sent, without what a leg added      |
| `window.py`   | one stream's identities of the last minutes, to recognise a second copy   |
| `gaps.py`     | is a silence a capture hole? (session calendar, intraday activity model)  |
| `core.py`     | the arbitration of one leg record: emit, duplicate, or dead letter        |
| `rebuild.py`  | a new active arbiter's state, read back from the canonical topics' tail   |
| `service.py`  | the Kafka loop: group membership, lease, produce, offsets after delivery  |
| `settings.py`, `metrics.py`, `cli.py` | configuration, Prometheus metrics, `txf-arbiter`  |
"""
