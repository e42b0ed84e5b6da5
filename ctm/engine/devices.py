"""`--device` of `ctm predict` and `ctm evaluate --checkpoint`: cpu, cuda or cuda:N, checked against this machine."""

from __future__ import annotations

import re

import torch

from ctm.errors import UserError

DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?")


def testing_device(name: str | None) -> torch.device | None:
    """The torch device `name` names ("cpu", "cuda", "cuda:N"), made current where it is a GPU; None for None (the
    preset's choice: ctm.engine.evaluate.testing_network). A GPU this machine lacks is a UserError saying so."""
    if name is None:
        return None
    if not DEVICE_PATTERN.fullmatch(name):
        raise UserError(f"--device {name}: expected cpu, cuda or cuda:N (N: a GPU's index)")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"--device {name}: this machine has no CUDA GPU that torch {torch.__version__} can use; "
                            "use --device cpu")
        index = device.index or 0
        if index >= count:
            raise UserError(f"--device {name}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}")
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
    return device
