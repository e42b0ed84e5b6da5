"""Data: annotation parsing, frame sampling, decoding into clips, and the synthetic stand-ins."""

from ctm.data.annotations import class_names, read_annotations

__all__ = ["class_names", "read_annotations"]
