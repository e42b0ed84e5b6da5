"""Data: annotation parsing, frame sampling, decoding into clips, and the synthetic stand-ins."""

from ctm.data.annotations import class_names, dataset_classes, read_annotations

__all__ = ["class_names", "dataset_classes", "read_annotations"]
