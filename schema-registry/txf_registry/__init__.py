"""txf_registry: declared subjects and topics of txfstream, and the tool that registers and gates them."""
