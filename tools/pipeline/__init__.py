"""`make pipeline`: see __main__.py."""
