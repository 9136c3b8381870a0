"""The built-in synthetic dataset: real video files whose classes differ by motion only."""
