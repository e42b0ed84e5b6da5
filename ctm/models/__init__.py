"""Models: torchvision-compatible ResNets, the CTM block and the TSN/CTM network."""

from ctm.models.ctm_block import TCC, CTMBlock, TemporalConv, TemporalPath
from ctm.models.network import CTMNet, feature_size, stage_name
from ctm.models.resnet import ResNet, resnet50, resnet101

__all__ = [
    "TCC", "CTMBlock", "CTMNet", "ResNet", "TemporalConv", "TemporalPath",
    "feature_size", "resnet50", "resnet101", "stage_name",
]
