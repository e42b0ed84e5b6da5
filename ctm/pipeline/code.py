"""The source files whose change reruns a step, the same for Snakemake (rule inputs) and DVC (stage deps).

Listed by hand rather than by following imports: a step depends on the code that decides its output's bytes
(the generator of the stand-in data, the decoder, the network and its training, the tests' protocol, the report),
not on logging, progress or file-writing helpers, whose change must not retrain 23 networks. The paths are relative
to the project's root: the folder that Snakemake and `dvc repro` run in, which holds params.yaml and ctm/.
"""

from __future__ import annotations

from pathlib import Path

_STANDINS = ("cvdf_mirror", "hmdb51", "host_files", "kinetics", "mini_kinetics_tree", "motion", "published",
             "rar_writer", "ucf101")
_SYNTHETIC = [f"ctm/standins/{m}.py" for m in _STANDINS] + ["ctm/data/video_io.py", "ctm/acquire/rar.py"]
CODE: dict[str, list[str]] = {
    "publish": _SYNTHETIC,
    "decode": ["ctm/data/decode.py", "ctm/data/decode_one.py", "ctm/data/video_io.py", "ctm/data/store.py"],
    "train": ["ctm/models", "ctm/engine/train.py", "ctm/engine/build.py", "ctm/engine/forward.py",
              "ctm/engine/distributed.py", "ctm/engine/train_epoch.py", "ctm/engine/resume.py",
              "ctm/engine/finetune.py", "ctm/data/splits.py", "ctm/data/video_clips.py", "ctm/data/store.py",
              "ctm/cpu_kernels.py"],
    "evaluate": ["ctm/engine/evaluate.py", "ctm/engine/forward.py", "ctm/engine/metrics.py", "ctm/data/splits.py",
                 "ctm/intervals.py", "ctm/cpu_kernels.py"],
    "curves": ["ctm/engine/curves.py"],
    "aggregate": ["ctm/engine/aggregate.py"],
    "report_table": ["ctm/report", "ctm/models", "ctm/intervals.py", "ctm/commands/report.py"],
    "report_site": ["ctm/report"],
}
"""step -> files and folders (relative to the repository root), as dvc.yaml lists them."""


def code_files(step: str, root: str | Path | None = None) -> list[str]:
    """CODE[step] with each folder expanded to its .py files: what a Snakemake rule lists as inputs (a folder's own
    mtime changes only when an entry is added or removed, not when a file in it is edited). `root`: the project's
    root, where the paths are looked up (default: the working directory, as Snakemake's rule inputs are)."""
    root = Path.cwd() if root is None else Path(root)
    files: list[str] = []
    for entry in CODE[step]:
        path = root / entry
        if path.is_dir():
            files += sorted(str(p.relative_to(root)) for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.is_file():
            files.append(entry)
        else:
            raise FileNotFoundError(f"ctm/pipeline/code.py: {entry} (code of step {step!r}) does not exist in {root}; "
                                    "run from the project's root (the folder holding params.yaml and ctm/)")
    return files
