"""Reading the files that `ctm train` writes (checkpoint.pt, resume.pt) without trusting them.

torch.load with weights_only=False runs whatever a pickle asks for, so a crafted checkpoint.pt, resume.pt or
--init-checkpoint could run code. Every load here is weights_only=True: tensors, containers and plain values only
(the files hold nothing else: params are plain data, the optimiser and schedule states are dicts). A file that is
cut short, is not a torch file, holds other objects or lacks the expected keys is a CheckpointError naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ctm import paths
from ctm.errors import MissingInputError, UserError

TRAINED_KEYS = ("model", "classes", "params", "summary")  # a finished run's checkpoint.pt


class CheckpointError(UserError, RuntimeError):
    """A checkpoint or resume file cannot be read; the message names the file and what to do."""


class StaleCheckpointError(UserError, RuntimeError):
    """The checkpoint was trained with other parameters than params.yaml now gives."""


def load_checkpoint(path: str | Path, what: str, keys: tuple[str, ...], map_location="cpu") -> dict:
    """The dict saved at `path` (a `what`: "checkpoint", "resume state", ...), which must hold `keys`."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: no {what} there")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, not a torch file, a pickle of other objects: all the same to a user
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise CheckpointError(f"{path}: not a readable {what} ({type(err).__name__}: {first}); it is cut short, "
                              "not written by `ctm train`, or holds more than tensors and plain data. Delete it and "
                              "rerun the step that writes it") from None
    if not isinstance(state, dict) or not set(keys) <= set(state):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: not a {what} of `ctm train` (expected keys {list(keys)}, found {found})")
    return state


def set_aside(path: Path, why: str) -> Path:
    """Rename `path` to `<name>.stale-<n>` (the first n free) so that nothing already written is lost, and say so
    on stderr (the job's log)."""
    import sys

    n = 1
    while path.with_name(f"{path.name}.stale-{n}").exists():
        n += 1
    aside = path.with_name(f"{path.name}.stale-{n}")
    path.replace(aside)
    print(f"ctm train: {path} {why}; kept aside as {aside}", file=sys.stderr)
    return aside


def finished_run(out_dir: Path, params: dict) -> dict | None:
    """The summary of a finished run in `out_dir` (checkpoint.pt written with `params`, no resume.pt pending), or
    None. A checkpoint of other params is set aside with its log.jsonl before a new run overwrites them."""
    checkpoint = paths.checkpoint_in(out_dir)
    if not checkpoint.is_file():
        return None
    state = load_checkpoint(checkpoint, "checkpoint", ("params", "summary"))
    if state["params"] == params and not paths.resume_state_in(out_dir).exists():
        return state["summary"]
    if state["params"] != params:
        for path in (checkpoint, paths.train_log_in(out_dir)):
            if path.exists():
                set_aside(path, "was written with other params than params.yaml gives now")
    return None
