"""From decoded frames to network input: transforms and map-style datasets of tuples and clips."""
