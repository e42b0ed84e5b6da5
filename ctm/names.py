"""Names shared by the model code and the config, in a module light enough for every `ctm` command to import."""

PATH_NAMES = ("tccm", "temporal")  # a CTM block's paths besides the identity: Path 1 (TCCM) and Path 2 (temporal)
