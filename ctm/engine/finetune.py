"""Fine-tuning from another experiment's checkpoint (UCF-101 and HMDB-51 from the Kinetics-600 model).

The parent's weights initialise every module they exist for, except the classifier (a new `fc` for the new classes).
"Partial BN" (TSN, Wang et al. 2016) then freezes every BatchNorm except the first (`bn1`): statistics (eval mode) and
affine parameters. BatchNorms of CTM blocks that the parent does not have are never frozen: their last BN is
zero-initialised, and frozen it would keep the block's paths at zero forever.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ctm.engine.checkpoints import load_checkpoint
from ctm.errors import UserError

NEW_HEAD = "fc."


class InitError(UserError, RuntimeError):
    """The parent checkpoint cannot initialise this network; the message says which keys and what to do."""


def init_from_checkpoint(model: nn.Module, checkpoint: str | Path) -> list[str]:
    """Copy the parent's weights (checkpoint.pt of `ctm train`) into `model`, all but the classifier.

    Returns the names of the CTM blocks that the parent did not have (freshly initialised). Any other missing or
    mismatched key is an error: the parent must be the same backbone."""
    path = Path(checkpoint)
    if not path.is_file():
        raise InitError(f"{path}: no parent checkpoint; train the parent experiment first")
    state = load_checkpoint(path, "parent checkpoint", ("model",))["model"]
    state = {k: v for k, v in state.items() if not k.startswith(NEW_HEAD)}
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.startswith(NEW_HEAD)]
    not_ctm = [k for k in missing + unexpected if not k.startswith("ctm_blocks.")]
    if mismatched or not_ctm:
        raise InitError(f"{path}: does not fit this network (shape mismatch: {mismatched[:3]}, missing or unexpected "
                        f"outside CTM blocks: {not_ctm[:3]}); the parent must use the same backbone and width")
    model.load_state_dict(state, strict=False)
    return sorted({".".join(k.split(".")[:2]) for k in missing if k.startswith("ctm_blocks.")})


def partial_bn(model: nn.Module, fresh: list[str] = ()) -> list[nn.Module]:
    """Freeze every BatchNorm but the first and those inside the `fresh` modules: parameters stop requiring grads.
    Returns the frozen modules; keep them in eval mode with `train_mode` after every `model.train()`."""
    frozen = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.modules.batchnorm._BatchNorm) or name == "bn1":
            continue
        if any(name == f or name.startswith(f + ".") for f in fresh):
            continue
        for p in module.parameters():
            p.requires_grad_(False)
        frozen.append(module)
    return frozen


def train_mode(model: nn.Module, frozen: list[nn.Module]) -> None:
    """model.train(), with the frozen BatchNorms kept in eval mode (their running statistics stay as loaded)."""
    model.train()
    for module in frozen:
        module.eval()
