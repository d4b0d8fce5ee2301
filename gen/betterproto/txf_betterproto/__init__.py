"""txf_betterproto: betterproto dataclasses of the TXF contract (do not edit; `make gen`)."""
