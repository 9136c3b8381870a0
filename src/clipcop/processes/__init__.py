"""Process management: helper processes, probing in isolated workers, Ctrl-C handling and torchrun's
environment. Light on purpose (no torch), so the console script and fresh workers import it quickly."""
