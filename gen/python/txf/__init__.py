"""txf: generated protobuf bindings of the TXF market-data contract (do not edit; `make gen`)."""
