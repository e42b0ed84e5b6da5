from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_params() -> dict:
    """The repository's params.yaml shrunk to seconds of CPU per job (same keys, same experiments)."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    emb = params["presets"]["embedded"]
    emb["datasets"]["mini_kinetics_200"]["synthetic"].update(
        train_per_class=2, val_per_class=1, num_frames=64, height=48, width=64, missing_fraction=0.1
    )
    emb["model"]["width"] = 0.0625
    emb["input"].update(resize_short=48, crop_size=32)
    emb["test"].update(num_clips=1, num_crops=3)
    emb["recipes"]["mini_kinetics_200"].update(epochs=1, batch_size=4, lr_milestones=[1])
    return params
