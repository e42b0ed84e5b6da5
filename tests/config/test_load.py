from pathlib import Path

import pytest
import yaml

from ctm.config import ConfigError, load_config

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


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
    with pytest.raises(ConfigError, match=r"presets.embedded.recipes.mini_kinetics_200.lr: 'fast' is not of type"):
        load_config(path)
    path = _write(tmp_path, lambda r: r["experiments"]["mk200_r50_tsn"].update(epochs=3))
    with pytest.raises(ConfigError, match=r"experiments.mk200_r50_tsn: Additional properties .*'epochs' was unexp"):
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
    (lambda r: r["finetuned"]["ucf101_s1_r101_tsn"].pop("init"),
     r"finetuned.ucf101_s1_r101_tsn: 'init' is a required property"),
    (lambda r: r["experiments"]["mk200_r50_tsn"].update(init="k600_r101_tsn"), r"move mk200_r50_tsn to `finetuned`"),
    (lambda r: r["groups"]["ucf101_r101_tsn"].append("nope"), r"groups.ucf101_r101_tsn: unknown experiment 'nope'"),
    (lambda r: r["tables"]["table6"]["rows"]["ctm"].update(ucf101="nope"),
     r"tables.table6.rows.ctm.ucf101: 'nope' is neither an experiment nor a group"),
    (lambda r: r["finetuned"]["ucf101_s1_r101_tsn"].update(init="ucf101_s1_r101_tsn"),
     r"finetuned.ucf101_s1_r101_tsn.init|ucf101_s1_r101_tsn.init: 'ucf101_s1_r101_tsn' is not another experiment"),
    (lambda r: r["presets"]["embedded"]["recipes"]["mini_kinetics_200"].update(per_device_batch=3),
     r"per_device_batch: 3 must divide batch_size 8"),
    # checks that only Snakemake's schema made before: `ctm` and `dvc repro` read params.yaml through the same one
    (lambda r: r.update(prest="paper"), r"top level: Additional properties are not allowed \('prest' was"),
    (lambda r: r["finetuned"]["ucf101_s1_r101_tsn"].update(split=4),
     r"finetuned.ucf101_s1_r101_tsn.split: 4 is not one of"),
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


def _paper(raw) -> dict:
    raw["preset"] = "paper"
    return raw["presets"]["paper"]


@pytest.mark.parametrize("pretrained, message", [
    # one value for every backbone, as before
    ("resnet50_v1", r"presets.paper.model.pretrained: 'resnet50_v1' is not of type 'object'"),
    ({"resnet50": "resnet50_v1", "resnet101": "resnet50_v1"},
     r"pretrained.resnet101: 'resnet50_v1' holds resnet50 weights, not resnet101's"),
    ({"resnet50": "resnet50_v1", "resnet101": "https://example.org/w/resnet50-0676ba61.pth"},
     r"pretrained.resnet101: .*holds resnet50 weights"),
    ({"resnet50": "resnet50_v1"}, r"pretrained: no weights for \['resnet101'\], which \[.*'k600_r101_tsn'"),
    ({"resnet50": "resnet50_v1", "resnet101": "resnet101_v3"}, r"'resnet101_v3' is neither a torchvision weight name"),
    ({"resnet50": "resnet50_v1", "resnet101": "resnet101_v1", "resnet18": "x.pth"},
     r"pretrained: .*'resnet18' is not one of"),
])
def test_pretrained_weights_are_per_backbone_and_checked_when_params_load(tmp_path, pretrained, message):
    path = _write(tmp_path, lambda r: _paper(r)["model"].update(pretrained=pretrained))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_each_experiment_records_its_own_backbones_weights():
    cfg = load_config(PARAMS, "paper")
    assert cfg.weights() == {"resnet50": "resnet50_v1", "resnet101": "resnet101_v1"}
    assert cfg.experiment_params("mk200_r50_tsn")["model"]["pretrained"] == "resnet50_v1"
    assert cfg.experiment_params("k600_r101_tsn")["model"]["pretrained"] == "resnet101_v1"
    assert "limits" not in cfg.experiment_params("k600_r101_tsn")
    assert load_config(PARAMS, "embedded").experiment_params("mk200_r50_tsn")["model"]["pretrained"] is None


def test_rehearsal_is_the_paper_preset_but_data_weights_gpus_and_length():
    """`extends: paper` keeps every setting the rehearsal does not name (docs/rehearsal.md)."""
    paper, rehearsal = load_config(PARAMS, "paper").preset, load_config(PARAMS, "rehearsal").preset
    assert rehearsal.extends == "paper" and rehearsal.device == paper.device == "cuda"
    assert (rehearsal.input, rehearsal.test) == (paper.input, paper.test)
    assert {k: v for k, v in vars(rehearsal.model).items() if k != "pretrained"} == \
        {k: v for k, v in vars(paper.model).items() if k != "pretrained"}
    for name, recipe in paper.recipes.items():
        assert {**vars(rehearsal.recipes[name]), "gpus": recipe.gpus} == vars(recipe)
        assert rehearsal.recipes[name].gpus == 1
    assert all(spec.source == "synthetic" and spec.synthetic.height == 256 for spec in rehearsal.datasets.values())
    assert set(rehearsal.model.pretrained) == set(paper.model.pretrained)
    assert rehearsal.limits is not None and paper.limits is None
    params = load_config(PARAMS, "rehearsal").experiment_params("mk200_r50_tsn")
    assert params["limits"] == {"epochs": 2, "steps_per_epoch": 2} and params["test"]["max_videos"] == 12


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["presets"]["rehearsal"].update(extends="nope"), r"presets.rehearsal.extends: 'nope' is not a preset"),
    (lambda r: r["presets"]["paper"].update(extends="rehearsal"),
     r"presets.(paper|rehearsal).extends: the chain .* loops"),
    (lambda r: r["presets"]["rehearsal"]["recipes"]["finetune"].update(gpus=0),
     r"presets.rehearsal.recipes.finetune.gpus: 0 is less than the minimum"),
    (lambda r: r["presets"]["rehearsal"]["limits"].update(epochs=0), r"presets.rehearsal.limits.epochs: 0 is less"),
    (lambda r: r["presets"]["rehearsal"]["test"].update(num_crops=2),
     r"presets.rehearsal.test.num_crops: 2 is not one"),
    (lambda r: r["presets"]["embedded"].update(device="tpu"), r"presets.embedded.device: 'tpu' is not one of"),
])
def test_extended_presets_are_checked_after_merging(tmp_path, mutate, message):
    def edit(raw):
        raw["presets"]["rehearsal"].setdefault("test", {})
        mutate(raw)
        raw["preset"] = "rehearsal" if "rehearsal" in message else "embedded" if "embedded" in message else "paper"

    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, edit))


def test_a_dataset_of_an_extending_preset_replaces_the_base_ones_whole():
    """The rehearsal's stand-ins take none of the paper's official URLs or checksums."""
    ucf = load_config(PARAMS, "rehearsal").dataset("ucf101")
    assert all(f.urls[0].startswith("file://{remote}/") and f.sha256 is None for f in ucf.files.values())


@pytest.mark.parametrize("entry, message", [
    ({"url": "https://example.org/UCF101.rar"}, r"UCF101.rar: 'urls' is a required property"),
    ({"urls": []}, r"UCF101.rar.urls: \[\] should be non-empty"),
    ({"urls": "https://example.org/UCF101.rar"}, r"UCF101.rar.urls: 'https://example.org/UCF101.rar' is not of type"),
    ({"urls": ["https://a/x", "https://a/x"]}, r"UCF101.rar.urls: .* has non-unique elements"),
    ({"urls": ["https://a/x"], "size": -1}, r"UCF101.rar.size: -1 is less than the minimum of 0"),
])
def test_a_files_mirrors_and_size_are_checked(tmp_path, entry, message):
    def edit(raw):
        raw["presets"]["paper"]["datasets"]["ucf101"]["files"]["UCF101.rar"] = entry
        raw["preset"] = "paper"

    with pytest.raises(ConfigError, match=rf"presets.paper.datasets.ucf101.files.{message}"):
        load_config(_write(tmp_path, edit))


def test_the_paper_files_list_their_mirrors_and_known_sizes():
    files = load_config(PARAMS, "paper").dataset("ucf101").files
    splits = files["UCF101TrainTestSplits-RecognitionTask.zip"]
    assert splits.size == 113943 and len(splits.urls) == 3 and splits.sha256.startswith("5c0d1a53")
    assert len(files["UCF101.rar"].urls) == 2 and files["UCF101.rar"].size is None
