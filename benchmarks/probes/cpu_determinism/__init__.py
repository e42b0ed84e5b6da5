"""Which CPU-kernel settings make training bit-identical across x86-64 CPUs?"""
