"""One-off probes, one folder per question they answer (benchmarks/README.md)."""
