"""txf_producer: Shioaji TXF quotes -> exact txf.v1 messages -> Confluent wire format -> Kafka."""
