"""Renderers of the engineering pages under docs/ from the committed measurements under benchmarks/results/:
performance.py (docs/performance.md, with the sections of bn_floor.py and cudnn_fusion.py), rehearsal.py
(docs/rehearsal_run.md) and full_size.py (docs/table1_full_size.md)."""
