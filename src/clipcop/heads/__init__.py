"""Heads on top of a backbone: the VCOP order head, the action classifier, the E-SA QA model."""
