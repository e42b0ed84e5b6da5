"""Data, read: annotation parsing (ctm/data/annotations/), decoding into the decoded store (decode.py, decode_one.py,
store.py), frame sampling, and the torch Dataset of clips (video_clips.py). The stand-ins live in ctm/standins/."""

from ctm.data.annotations import class_names, dataset_classes, read_annotations

__all__ = ["class_names", "dataset_classes", "read_annotations"]
