"""`make chaos`: the nemesis campaign. See __main__.py."""
