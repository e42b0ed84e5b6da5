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
    emb["model"]["width"] = 0.0625
    emb["input"].update(resize_short=40, crop_size=32)
    emb["test"].update(num_clips=1, num_crops=3)
    for recipe in emb["recipes"].values():
        recipe.update(epochs=1, batch_size=4, lr_milestones=[1])
    return params
