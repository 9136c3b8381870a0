"""Feature extraction to files: N evenly spaced clips per video, any tap, global or spatiotemporal pooling."""
