import copy
import os
import signal
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    """The repository's params.yaml shrunk to seconds of CPU per job (same keys, experiments and tables)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    emb = params["presets"]["embedded"]
    video = {"num_frames": 64, "height": 48, "width": 64}
    data = emb["datasets"]
    data["mini_kinetics_200"]["synthetic"].update(train_per_class=2, val_per_class=1, missing_fraction=0.1, **video)
    data["kinetics_600"]["synthetic"].update(train_per_class=2, val_per_class=1, missing_fraction=0.1, **video)
    data["ucf101"]["synthetic"].update(groups=4, clips_per_group=1, **video)
    data["hmdb51"]["synthetic"].update(clips_per_class=4, **video)
    emb["min_coverage"] = 0.5  # 1 of a tiny subset's 6 videos missing is 17%
    emb["seeds"] = [0, 1]  # two runs per experiment: the multi-seed paths at a third less cost than the preset's 3
    emb["model"]["width"] = 0.0625
    emb["input"].update(resize_short=40, crop_size=32)
    emb["test"].update(num_clips=1, num_crops=3)
    for recipe in emb["recipes"].values():
        recipe.update(epochs=1, batch_size=4, lr_milestones=[1])
    return params

@pytest.fixture
def sigterm_at():
    """sigterm_at(monkeypatch, epoch, batch): deliver a real SIGTERM to this process after `batch` (1-based) of
    `epoch` (0-based) has been drawn by ctm.engine.train_epoch."""

    import ctm.engine.train_epoch as train_module

    def arm(monkeypatch, epoch: int, batch: int) -> None:
        real = train_module.progress_bar
        seen = {"epoch": -1}

        def wrapped(iterable, **kwargs):
            seen["epoch"] += 1
            bar = real(iterable, **kwargs)
            current = seen["epoch"]

            class Killing:
                def __iter__(self):
                    for i, item in enumerate(bar, start=kwargs.get("initial", 0) + 1):
                        if current == epoch and i == batch:
                            os.kill(os.getpid(), signal.SIGTERM)
                        yield item

                def set_postfix(self, **kw):
                    bar.set_postfix(**kw)

            return Killing()

        monkeypatch.setattr(train_module, "progress_bar", wrapped)

    return arm



@pytest.fixture(scope="session")
def tiny_training_dir(tiny_params):
    """A function (base, **recipe) -> params file: writes base/params.yaml (tiny_params with the Mini-Kinetics recipe
    updated by `recipe`) and that preset's synthetic Mini-Kinetics-200 under base/data, for `ctm train` on it."""
    from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

    def write(base: Path, **recipe) -> Path:
        params = copy.deepcopy(tiny_params)
        params["presets"]["embedded"]["recipes"]["mini_kinetics_200"].update(recipe)
        (base / "params.yaml").write_text(yaml.safe_dump(params))
        synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
        write_mini_kinetics_200(base / "data", **synth, progress=False)
        return base / "params.yaml"

    return write


@pytest.fixture
def rar_members(tmp_path) -> list[tuple[str, bytes | Path]]:
    """What the RAR tests archive (ctm.standins.rar_writer; ctm.acquire.rar): a folder entry, a file whose name has a
    space and parentheses, an empty file, CRLF text and a file too big for one read."""
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 3000 + b"tail")
    return [
        ("brush_hair/", b""),
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", b"RIFF" + bytes(range(200)) * 7),
        ("brush_hair/with space (1).avi", big),
        ("cartwheel/empty.avi", b""),
        ("README", b"line\r\n"),
    ]
