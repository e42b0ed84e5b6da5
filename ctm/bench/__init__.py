"""The product's own benchmarks, run by `ctm bench` (ctm/commands/bench.py): steps.py measures training and inference
steps (clips/s, step time, peak memory, MFU); data_loading.py measures clips/s through the decoded store's DataLoader
and compares store formats. The one-off GPU probes and their measurements live in benchmarks/ (benchmarks/README.md).
"""
