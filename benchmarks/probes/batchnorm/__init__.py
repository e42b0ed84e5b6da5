"""Is training BatchNorm at its memory floor, and can cuDNN fuse it into the convolutions?"""
