"""The ``clipcop`` command line: one small module per command, each an adapter over a library call."""
