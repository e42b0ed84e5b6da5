"""Under which variant of the embedded recipe do Table 1's networks learn the direction of motion on every seed?"""
