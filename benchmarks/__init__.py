"""Benchmarks and probes outside the product (benchmarks/README.md): the throughput harness, the probes grouped by the
question they answer, the scripts run on the GPU host, the renderers of the engineering pages under docs/, and the
measurements. Run the Python scripts from the repository root as modules (`python -m benchmarks.throughput ...`)."""
