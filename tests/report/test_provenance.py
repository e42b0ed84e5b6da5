import subprocess

import pytest

from ctm import cpu_kernels
from ctm.report.cells import ReportError
from ctm.report.provenance import benchmarks, collect, git_state, interpretation, kernels_record, training

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_git_commit_and_dirty_flag(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}  # not a checkout
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "untracked.txt").write_text("x")  # untracked files do not change the results' code
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}


def test_benchmark_files(tmp_path):
    jobs, note = benchmarks(tmp_path)
    assert jobs == [] and "no Snakemake benchmark files" in note and "DVC" in note
    root = tmp_path / "benchmarks"
    (root / "train").mkdir(parents=True)
    # `benchmark: repeat("...", 2)` writes one line per repeat; NA where Snakemake could not measure
    (root / "train" / "mk200_r50_tsn.tsv").write_text(HEADER + "100.0\t0:01:40\t500\t1\t1\t1\t0\t0\t90\t80.0\n"
                                                      "120.0\t0:02:00\t700\t1\t1\t1\t0\t0\t90\tNA\n")
    (root / "download" / "ucf101").mkdir(parents=True)
    (root / "download" / "ucf101" / "UCF101.rar.tsv").write_text(HEADER + "3.5\t0:00:03" + "\tNA" * 8 + "\n")
    jobs, note = benchmarks(tmp_path)
    assert jobs == [
        {"rule": "download", "job": "ucf101/UCF101.rar", "wall_s": 3.5, "max_rss_mb": None, "cpu_s": None},
        {"rule": "train", "job": "mk200_r50_tsn", "wall_s": 110.0, "max_rss_mb": 600.0, "cpu_s": 80.0},
    ]
    assert note.startswith("2 jobs")
    (root / "train" / "broken.tsv").write_text("not a benchmark\n")
    with pytest.raises(ReportError, match="broken.tsv"):
        benchmarks(tmp_path)


def test_interpretation_choices_follow_the_preset(tiny_cfg, runs):
    cfg, _ = tiny_cfg
    choices = {c["topic"]: c for c in interpretation(cfg)}
    k600 = cfg.preset.recipes["kinetics_600"]
    assert f"C1 / {cfg.preset.model.reduction}" in choices["Channels inside the CTM paths"]["choice"]
    assert str(k600.lr_milestones) in next(c["choice"] for t, c in choices.items() if "Kinetics-600 lr" in t)
    assert all(c["doc"].startswith("docs/") for c in choices.values())
    assert choices["Confidence intervals and claim verdicts"]["choice"].startswith("3 seed(s) per model")
    prov = collect(cfg, None, runs)
    assert prov["hardware"]["cores"] >= 1 and prov["software"]["torch"]
    assert prov["jobs_note"].startswith("no logs folder")


def test_training_is_recorded_per_run(tiny_cfg, runs):
    """One record per (experiment, seed) with a log, in params.yaml's order: the machine-dependent throughput lives
    here, not in the tables."""
    cfg, _ = tiny_cfg
    prov = collect(cfg, None, runs)
    assert [t["experiment"] for t in prov["training"]] == [f"{e}/seed{s}" for e in cfg.experiments for s in (0, 1, 2)]
    by_run = {t["experiment"]: t for t in prov["training"]}
    for seed in (0, 1, 2):  # the fixture's epochs run at 10, 20, 30 clips/s plus the seed, 1 s each
        t = by_run[f"mk200_r50_tsn/seed{seed}"]
        assert (t["epochs"], t["train_s"], t["clips_per_s"]) == (3, 3.0, pytest.approx(20.0 + seed))
        assert (t["cpu_kernels"], t["processes"], t["per_device_batch"], t["accumulation"]) == ("pinned", 1, 4, 1)
    n = 3 * len(cfg.experiments)
    assert prov["cpu_kernels"]["runs"] == f"{n} of {n} CPU runs"
    assert prov["cpu_kernels"]["pinned"] == cpu_kernels.PINNED
    assert training(runs, ["absent/seed0", "mk200_r50_tsn/seed1"])[0]["experiment"] == "mk200_r50_tsn/seed1"


def test_kernels_record_counts_the_cpu_runs():
    runs = [{"cpu_kernels": "pinned"}, {"cpu_kernels": "unpinned"}, {"cpu_kernels": None}, {"cpu_kernels": "pinned"}]
    assert kernels_record(runs)["runs"] == "2 of 3 CPU runs"  # None: a GPU run
    assert kernels_record([{"cpu_kernels": None}])["runs"] == kernels_record([])["runs"] == "no CPU runs"
    assert set(kernels_record([])) == {"pinned", "cpu", "runs"}


def test_gpu_names_from_nvidia_smi_as_cuda_would_see_them(tmp_path, monkeypatch):
    from ctm.report.provenance import gpu_names

    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '0, GPU-aaaa-1111, NVIDIA H100 80GB HBM3'\necho '1, GPU-bbbb-2222, NVIDIA H200'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_names() == ["NVIDIA H100 80GB HBM3", "NVIDIA H200"]
    for visible, names in [("1", ["NVIDIA H200"]), ("1,0", ["NVIDIA H200", "NVIDIA H100 80GB HBM3"]),
                           ("GPU-bbbb", ["NVIDIA H200"]), ("", []), ("-1", []), ("0,7,1", ["NVIDIA H100 80GB HBM3"])]:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        assert gpu_names() == names, visible
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert gpu_names() == []


def test_a_tree_dirty_only_in_the_regenerated_outputs_is_clean(tmp_path):
    """make tables rewrites reports/ (and dvc commit dvc.lock) while it runs: that is not an uncommitted change."""
    import subprocess

    from ctm.report.provenance import git_state

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("dvc.lock", "reports/table1.csv", "ctm.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("a\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    (tmp_path / "dvc.lock").write_text("b\n")  # the first line of `git status --porcelain`: " M dvc.lock"
    (tmp_path / "reports/table1.csv").write_text("b\n")
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "ctm.py").write_text("b\n")
    assert git_state(tmp_path)["dirty"] is True
