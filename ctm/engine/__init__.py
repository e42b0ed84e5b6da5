"""Engine: training, multi-view evaluation and metrics."""
