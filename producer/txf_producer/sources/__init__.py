"""Quote sources: Shioaji live, the simulated TXF market, and replay of a recording."""
