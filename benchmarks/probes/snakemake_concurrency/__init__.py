"""How many CPU-bound jobs did a Snakemake run really have running at once?"""
