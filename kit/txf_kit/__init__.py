"""txf-kit: what the txfstream services share, so that none of them imports another.

The light part needs only the Kafka client and the contract; the lean consumer library uses it:

| module          | what it holds                                                                       |
|-----------------|-------------------------------------------------------------------------------------|
| `calendar`      | the trading calendar: sessions, trading days, expected activity (`TradingCalendar`) |
| `topicmap`      | the topic map (`subjects.toml`): topics, messages, capture legs, durability           |
| `records`       | what each txf.v1 field means (a price x10000, a volume, a run's field)              |
| `refusal`       | Kafka's refusals as exit codes (77 not authorized, 78 credentials rejected)         |
| `secretfiles`   | a secret from `NAME` or the file `NAME_FILE` names                                  |
| `metadata`      | the start-up metadata wait that a refused login ends at once                        |
| `service`       | `ServiceExit` (an exit code and one line) and `ErrorLatch` (errors off the loop)    |
| `notify`        | systemd's sd_notify (READY, WATCHDOG, STATUS, STOPPING)                             |
| `logs`          | logging for a terminal or journald (priorities), a rate-limited warning             |
| `exits`         | how the service's earlier runs ended, as systemd saw them                           |

The `service` extra adds what only long-running services need:

| module          | what it holds                                                                       |
|-----------------|-------------------------------------------------------------------------------------|
| `settings`      | `ServiceSettings`: the TXF_* settings every service shares; each service subclasses it |
| `metrics`       | `/metrics`, `/healthz`, `/readyz` from a thread; `LatencyHistogram`                 |
| `framing`       | the Confluent frame header of a topic, from confluent-kafka's own serializer        |
"""
