"""The simulated TXF market: its settings (config.py), the model (market.py), and the child process
that generates it for load tests (generator.py). `sources/simulated.py` is the source that feeds it
to the producer."""
