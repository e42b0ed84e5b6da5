"""`ctm predict` on real encoded videos: the class and score `ctm evaluate` gives, from any folder whatever params.yaml
says now; folders and lists of videos in one command, one JSON line each, batched; --device; older checkpoints."""

import copy
import json
import shutil

import pandas as pd
import pytest
import torch
import yaml

from ctm.cli import main
from ctm.config import load_config
from ctm.engine.evaluate import evaluate
from ctm.engine.run import resolve_run, resolve_tested_run
from ctm.engine.train import train
from ctm.standins.mini_kinetics_tree import write_mini_kinetics_200

EXPERIMENT = "mk200_r50_tsn"


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_params):
    base = tmp_path_factory.mktemp("predict")
    params = copy.deepcopy(tiny_params)
    (base / "params.yaml").write_text(yaml.safe_dump(params))
    synth = params["presets"]["embedded"]["datasets"]["mini_kinetics_200"]["synthetic"]
    write_mini_kinetics_200(base / "data", **synth, progress=False)
    cfg = load_config(base / "params.yaml")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train(resolve_run(cfg, EXPERIMENT, folder=base / "run"), base / "data", progress=False)
    evaluate(*resolve_tested_run(cfg, EXPERIMENT, base / "run" / "checkpoint.pt"), base / "data", progress=False)
    torch.set_num_threads(threads)
    return base


def ctm_predict(base, videos, capsys, *extra, checkpoint=None) -> tuple[int, list[dict], str]:
    """(exit status, the JSON lines printed, stderr) of `ctm predict VIDEOS --checkpoint ...`."""
    videos = videos if isinstance(videos, list) else [videos]
    code = main(["predict", *map(str, videos), "--checkpoint", str(checkpoint or base / "run" / "checkpoint.pt"),
                 "--threads", "1", *extra])
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines()], out.err


def evaluated(base) -> pd.DataFrame:
    return pd.read_csv(base / "run" / "predictions.csv")


def test_predict_gives_the_evaluated_class_and_score_first(run, capsys):
    predictions = evaluated(run)
    classes = torch.load(run / "run" / "checkpoint.pt", map_location="cpu", weights_only=True)["classes"]
    row = predictions.iloc[1]
    code, [result], _ = ctm_predict(run, run / "data" / row["video"], capsys, "--params", str(run / "params.yaml"))
    assert code == 0
    assert result["experiment"] == EXPERIMENT and len(result["top"]) == min(5, len(classes))
    assert result["views"] == json.loads((run / "run" / "metrics.json").read_text())["views_per_video"]
    scores = [t["score"] for t in result["top"]]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-5
    assert result["top"][0]["class"] == classes[int(row["pred"])]
    assert result["top"][0]["score"] == pytest.approx(row["score"], abs=1e-5)


def test_predict_works_from_any_folder_whatever_params_yaml_says_now(run, capsys, tmp_path, monkeypatch,
                                                                     tiny_params):
    video = run / "data" / evaluated(run).iloc[0]["video"]
    _, [before], _ = ctm_predict(run, video, capsys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no params.yaml here
    code, [moved], err = ctm_predict(run, video, capsys)
    assert code == 0, err
    changed = copy.deepcopy(tiny_params)
    changed["presets"]["embedded"]["recipes"]["mini_kinetics_200"]["epochs"] += 1
    changed["presets"]["embedded"]["test"]["num_crops"] = 1
    (elsewhere / "params.yaml").write_text(yaml.safe_dump(changed))
    code, [after], err = ctm_predict(run, video, capsys)
    assert code == 0, err
    assert before == moved == after


def test_a_folder_and_a_list_predict_in_one_command_batched(run, capsys, tmp_path):
    rows = evaluated(run).iloc[:3]
    folder = tmp_path / "videos"
    folder.mkdir()
    for i, video in enumerate(rows["video"]):
        shutil.copy(run / "data" / video, folder / f"{i}_{(run / 'data' / video).name}")
    (folder / "notes.txt").write_text("not a video: skipped by its suffix")
    code, results, err = ctm_predict(run, folder, capsys)
    assert code == 0, err
    singles = [ctm_predict(run, folder / r["video"].rsplit("/", 1)[1], capsys)[1][0] for r in results]
    assert [r["video"] for r in results] == [str(p) for p in sorted(folder.glob("*.mp4"))]
    for batched, single in zip(results, singles, strict=True):  # 3 videos of 3 views in one forward of 60 views
        assert [t["class"] for t in batched["top"]] == [t["class"] for t in single["top"]]
        assert [t["score"] for t in batched["top"]] == pytest.approx([t["score"] for t in single["top"]], abs=1e-5)
    (tmp_path / "list.txt").write_text(f"# two of them\nvideos/{sorted(folder.glob('*.mp4'))[2].name}\n\n"
                                       f"{sorted(folder.glob('*.mp4'))[0]}\n")
    code, listed, _ = ctm_predict(run, [], capsys, "--list", str(tmp_path / "list.txt"), "--batch-views", "1",
                                  "--workers", "1")
    assert code == 0 and [r["top"][0]["class"] for r in listed] == [results[2]["top"][0]["class"],
                                                                    results[0]["top"][0]["class"]]


def test_an_undecodable_video_is_a_line_of_its_own_and_the_others_go_on(run, capsys, tmp_path):
    video = run / "data" / evaluated(run).iloc[0]["video"]
    (tmp_path / "a.mp4").write_bytes(video.read_bytes())
    (tmp_path / "b.mp4").write_bytes(b"not a video")
    (tmp_path / "c.mp4").write_bytes(video.read_bytes())
    code, results, err = ctm_predict(run, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert [("error" in r) for r in results] == [False, True, False] and "b.mp4" in results[1]["error"]
    assert results[0]["top"] == results[2]["top"]
    assert "1 of 3 videos could not be decoded" in err and "b.mp4" in err


def test_predict_names_a_missing_or_broken_video(run, capsys, tmp_path):
    code, _, err = ctm_predict(run, tmp_path / "nope.mp4", capsys)
    assert code == 2 and "nope.mp4: no such video file" in err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    code, _, err = ctm_predict(run, broken, capsys)
    assert code == 2 and "broken.mp4" in err and "Traceback" not in err
    code, _, err = ctm_predict(run, [], capsys)
    assert code == 2 and "no videos given" in err
    (tmp_path / "empty").mkdir()
    code, _, err = ctm_predict(run, tmp_path / "empty", capsys)
    assert code == 2 and "empty: a folder with no video files" in err


def test_device_is_checked_against_this_machine(run, capsys):
    video = run / "data" / evaluated(run).iloc[0]["video"]
    code, [on_cpu], _ = ctm_predict(run, video, capsys, "--device", "cpu")
    assert code == 0 and on_cpu["top"]
    code, _, err = ctm_predict(run, video, capsys, "--device", "tpu")
    assert code == 2 and "--device tpu: expected cpu, cuda or cuda:N" in err
    if not torch.cuda.is_available():
        code, _, err = ctm_predict(run, video, capsys, "--device", "cuda:0")
        assert code == 2 and "--device cuda:0: this machine has no CUDA GPU" in err


def test_an_older_checkpoint_needs_its_params_yaml(run, capsys, tmp_path, monkeypatch):
    state = torch.load(run / "run" / "checkpoint.pt", map_location="cpu", weights_only=True)
    older = tmp_path / "older.pt"
    torch.save({k: v for k, v in state.items() if k not in ("format", "run")}, older)
    video = run / "data" / evaluated(run).iloc[0]["video"]
    _, [now], _ = ctm_predict(run, video, capsys)
    code, [then], _ = ctm_predict(run, video, capsys, "--params", str(run / "params.yaml"), checkpoint=older)
    assert code == 0 and then["top"] == now["top"]
    monkeypatch.chdir(tmp_path)
    code, _, err = ctm_predict(run, video, capsys, checkpoint=older)
    assert code == 2 and "older.pt: an older checkpoint (format 1" in err and "give --params" in err


def test_a_contact_sheet_per_video_for_a_person_to_look_at(run, capsys, tmp_path):
    from matplotlib.image import imread

    video = run / "data" / evaluated(run).iloc[0]["video"]
    code, results, err = ctm_predict(run, [video, video], capsys, "--sheet-dir", str(tmp_path / "sheets"))
    assert code == 0, err
    assert [r["sheet"] for r in results] == [str(tmp_path / "sheets" / f"{video.name}.png"),
                                             str(tmp_path / "sheets" / f"{video.name}-2.png")]
    image = imread(results[0]["sheet"])  # (H, W, 4) floats in [0, 1]
    assert image.shape[0] > 200 and image.shape[1] > 400 and image[..., :3].std() > 0.05
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == [f"{video.name}-2.png", f"{video.name}.png"]
