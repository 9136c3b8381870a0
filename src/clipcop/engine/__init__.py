"""Training and evaluation machinery shared by every workflow: loops, checkpoints, seeding, devices."""
