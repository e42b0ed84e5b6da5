"""Reports: the paper's published values and the generated tables."""
