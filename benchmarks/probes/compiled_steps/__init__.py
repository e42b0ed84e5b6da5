"""Are compiled training steps right: their gradients, and their behaviour when the batch size changes?"""
