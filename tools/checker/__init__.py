"""An independent checker of what the pipeline wrote, judged against ground truth.

Nothing here uses the project's own accounting (the consumer's tracker, the arbiter's counters): it
compiles proto/ itself (`buf build`) into a descriptor pool of its own and decodes the Confluent
frames with its own parser (protocol.py), reads the topics with a plain Kafka client (readback.py),
recomputes the ground truth of a seeded simulated market and each capture leg's drops (truth.py),
and judges invariants, every violation listed (verdict.py), the way Jepsen's checkers judge a
history against a model. `make pipeline` prints its verdict; the nemesis campaign (tools/chaos)
writes it into its report.
"""
