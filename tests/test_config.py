from pathlib import Path

import pytest
import yaml

from ctm.config import ConfigError, load_config

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def test_repository_params_load_for_every_preset():
    raw = yaml.safe_load(PARAMS.read_text())
    for preset in raw["presets"]:
        cfg = load_config(PARAMS, preset)
        for name in cfg.experiments:
            assert cfg.experiment_params(name)["preset"] == preset


def test_paper_preset_has_the_papers_recipe():
    cfg = load_config(PARAMS, "paper")
    r = cfg.preset.recipes["mini_kinetics_200"]
    assert (r.epochs, r.batch_size, r.lr, r.lr_milestones, r.lr_gamma) == (60, 96, 0.02, [30, 50], 0.1)
    assert (r.momentum, r.weight_decay) == (0.9, 1e-4)
    assert cfg.preset.input.crop_size == 224 and cfg.preset.model.width == 1.0


def _write(tmp_path, mutate):
    raw = yaml.safe_load(PARAMS.read_text())
    mutate(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_errors_name_the_key(tmp_path):
    path = _write(tmp_path, lambda r: r["presets"]["embedded"]["recipes"]["mini_kinetics_200"].update(lr="fast"))
    with pytest.raises(ConfigError, match=r"presets.embedded.recipes.mini_kinetics_200.lr: expected float"):
        load_config(path)
    path = _write(tmp_path, lambda r: r["experiments"]["mk200_r50_tsn"].update(epochs=3))
    with pytest.raises(ConfigError, match=r"experiments.mk200_r50_tsn: unknown key\(s\) \['epochs'\]"):
        load_config(path)
    path = _write(tmp_path, lambda r: r["tables"]["table1"]["rows"].update(ctm="nope"))
    with pytest.raises(ConfigError, match=r"tables.table1.rows.ctm: 'nope' is neither an experiment nor a group"):
        load_config(path)
    with pytest.raises(ConfigError, match="preset 'huge' is not defined"):
        load_config(PARAMS, "huge")


def test_every_placement_of_the_tables_is_addressable_from_params(tmp_path):
    """Tables 1-6 placements, written as params.yaml experiments, build the networks they name."""
    from ctm.engine.build import build_model

    placements = {  # experiment -> (backbone, stage, after): Table 1/3 (Res4 x1, x3, x6), Table 2, Tables 4-6
        "r50_res4x1": ("resnet50", "res4", [5]), "r50_res2": ("resnet50", "res2", [2]),
        "r50_res3": ("resnet50", "res3", [3]), "r50_res5": ("resnet50", "res5", [2]),
        "r50_res4x3": ("resnet50", "res4", [1, 3, 5]), "r50_res4x6": ("resnet50", "res4", [1, 2, 3, 4, 5, 6]),
        "r101_res4x3": ("resnet101", "res4", [6, 12, 18]),
    }

    def mutate(raw):
        raw["experiments"] = {
            name: {"dataset": "mini_kinetics_200", "backbone": b, "recipe": "mini_kinetics_200",
                   "ctm": {"stage": s, "after": a, "paths": ["tccm", "temporal"]}}
            for name, (b, s, a) in placements.items()
        }
        raw["tables"], raw["finetuned"], raw["groups"] = {}, {}, {}

    cfg = load_config(_write(tmp_path, mutate))
    layer = {"res2": "layer1", "res3": "layer2", "res4": "layer3", "res5": "layer4"}
    for name, (backbone, stage, after) in placements.items():
        model = build_model(cfg, cfg.experiment(name), num_classes=6)
        assert sorted(model.ctm_blocks) == sorted(f"{layer[stage]}_{k}" for k in after)
        assert len(model.layer3) == (23 if backbone == "resnet101" else 6)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["finetuned"]["ucf101_s1_r101_tsn"].pop("init"), r"finetuned.ucf101_s1_r101_tsn.init: missing"),
    (lambda r: r["experiments"]["mk200_r50_tsn"].update(init="k600_r101_tsn"), r"move mk200_r50_tsn to `finetuned`"),
    (lambda r: r["groups"]["ucf101_r101_tsn"].append("nope"), r"groups.ucf101_r101_tsn: unknown experiment 'nope'"),
    (lambda r: r["tables"]["table6"]["rows"]["ctm"].update(ucf101="nope"),
     r"tables.table6.rows.ctm.ucf101: 'nope' is neither an experiment nor a group"),
    (lambda r: r["finetuned"]["ucf101_s1_r101_tsn"].update(init="ucf101_s1_r101_tsn"),
     r"finetuned.ucf101_s1_r101_tsn.init|ucf101_s1_r101_tsn.init: 'ucf101_s1_r101_tsn' is not another experiment"),
    (lambda r: r["presets"]["embedded"]["recipes"]["mini_kinetics_200"].update(per_device_batch=3),
     r"per_device_batch: 3 must divide batch_size 8"),
])
def test_experiments_groups_and_cells_are_checked(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, mutate))


def test_table_cells_and_group_members():
    cfg = load_config(PARAMS)
    assert cfg.tables["table1"].cells()["ctm"] == {"top1": "mk200_r50_ctm_res4x1"}
    assert cfg.tables["table5"].cells()["ctm"]["ucf101"] == "ucf101_r101_ctm_res4x3"
    assert cfg.members("ucf101_r101_ctm_res4x3") == [f"ucf101_s{k}_r101_ctm_res4x3" for k in (1, 2, 3)]
    assert [cfg.experiment(e).split for e in cfg.members("hmdb51_r101_tsn")] == [1, 2, 3]
    assert cfg.members("mk200_r50_tsn") == ["mk200_r50_tsn"]
