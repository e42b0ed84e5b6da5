"""The sbatch arguments that workflow/profiles/slurm really submits, without a cluster.

Snakemake runs with the profile and snakemake-executor-plugin-slurm, as a user would, on a copy of the workflow whose
representative jobs have their inputs in place (empty stand-ins). `sbatch` on PATH is a stand-in that records its
arguments and fails, so every job is submitted once per attempt and no status is ever polled; `sacctmgr`, `sacct`
and `sinfo` stand-ins answer the plugin's account and partition look-ups. The recorded arguments are those the plugin
built for each job (its own submit-string code, on the jobs Snakemake built from the rules).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_project import REPO, make_project

from ctm import paths
from ctm.config import load_config
from ctm.vocabulary import weights_file_name, weights_url

pytest.importorskip("snakemake_executor_plugin_slurm",
                    reason="snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")

ACCOUNT, PARTITION = "ctm_account", "gpu_partition"
CPUS_PER_GPU = 8  # workflow/rules/train.smk: a GPU job's threads are 8 per GPU

STAND_INS = {
    "sbatch": "import json, os, sys\n"
              "with open(os.environ['FAKE_SBATCH_RECORD'], 'a') as f:\n"
              "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
              "sys.exit('stand-in sbatch: arguments recorded, nothing submitted')\n",
    "sacctmgr": f"print({ACCOUNT!r})\n",  # the accounts of the user (validation)
    "sacct": f"print({ACCOUNT!r})\n",  # the account of the user's last job (the plugin's guess)
    "sinfo": f"print('PARTITION'); print({PARTITION + '*'!r})\n",  # `*`: the cluster's default partition
}


def sbatch_parser() -> argparse.ArgumentParser:
    """The sbatch options that the plugin writes; any other option is reported as unknown."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--parsable", action="store_true")
    for option in ("--job-name", "--output", "--export", "--comment", "--wrap", "--mem", "--mem-per-cpu", "--nodes",
                   "--ntasks", "--ntasks-per-gpu", "--cpus-per-task", "--cpus-per-gpu", "--gpus", "--gres", "--qos"):
        parser.add_argument(option)
    for short, long in (("-A", "--account"), ("-p", "--partition"), ("-t", "--time"), ("-D", "--chdir"),
                        ("-C", "--constraint")):
        parser.add_argument(short, long)
    return parser


def stand_in_bin(folder: Path) -> Path:
    """A folder of the stand-in SLURM commands, to put first on PATH."""
    folder.mkdir()
    for name, body in STAND_INS.items():
        (folder / name).write_text(f"#!{sys.executable}\n{body}")
        (folder / name).chmod(0o755)
    return folder


def touch(path: Path, directory: bool = False) -> None:
    """An empty file (or folder) and its parents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(exist_ok=True) if directory else path.touch()


def place_inputs(root: Path, preset: str, trained: list[str], evaluated: list[str]) -> list[str]:
    """Empty stand-ins of what the given trainings and evaluations read; returns their target files."""
    cfg = load_config(root / "params.yaml", preset)
    targets = []
    for name in trained + evaluated:
        exp = cfg.experiment(name)
        touch(root / paths.store_dir(preset, exp.dataset), directory=True)
        spec = cfg.pretrained(exp)
        if spec is not None and weights_url(spec) is not None:
            touch(root / paths.weights_dir(preset) / weights_file_name(spec))
    seed = cfg.seeds[0]  # the preset's first run of each experiment
    for name in evaluated:  # the checkpoint (and log) of a finished training, newer than its inputs
        run = root / paths.run_dir(preset, paths.run_name(name, seed))
        for out in ("checkpoint.pt", "log.jsonl"):
            touch(run / out)
            os.utime(run / out, (2e9, 2e9))
        targets.append(str(paths.metrics(preset, paths.run_name(name, seed))))
    targets += [str(paths.checkpoint(preset, paths.run_name(name, seed))) for name in trained]
    return targets


def submit(root: Path, bin_dir: Path, targets: list[str], extra: list[str], record: Path) -> dict:
    """Run Snakemake with the SLURM profile; the sbatch arguments of each job, by its `rule_..._wildcards_...`."""
    env = {**os.environ, "FAKE_SBATCH_RECORD": str(record),
           "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])}
    # no job is ever active, but the scheduler would still idle 40 s (the plugin's default) before its status round
    cmd = ["snakemake", "--profile", "workflow/profiles/slurm", "--keep-going",
           "--slurm-init-seconds-before-status-checks", "1", *extra, "--", *targets]
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert record.exists(), f"no job reached sbatch:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    jobs = {}
    for line in record.read_text().splitlines():
        args, unknown = sbatch_parser().parse_known_args(json.loads(line))
        assert not unknown, f"sbatch options the test does not know: {unknown}"
        jobs.setdefault(args.comment, args)
    return jobs


def assert_one_node_one_task(args: argparse.Namespace) -> None:
    """torchrun --standalone spawns the processes of one node: a single task (SLURM's default when neither --ntasks
    nor --ntasks-per-gpu is given) on a node that holds all the job's GPUs."""
    assert args.ntasks in (None, "1") and args.ntasks_per_gpu is None, args
    if args.gpus is not None or args.gres is not None:
        assert args.nodes == "1", f"a GPU job without --nodes=1 may be spread over nodes: {args}"
    else:
        assert args.nodes in (None, "1") and args.ntasks == "1", args


def assert_gpu_job(args: argparse.Namespace, gpus: int) -> None:
    """`gpus` GPUs and 8 CPUs per GPU on one node, with memory and a time limit."""
    assert args.gpus == str(gpus) and args.gres is None, args
    assert args.cpus_per_task == str(CPUS_PER_GPU * gpus) and args.cpus_per_gpu is None, args
    assert_one_node_one_task(args)
    assert args.mem and args.time, args


def assert_cpu_job(args: argparse.Namespace, threads: int) -> None:
    """No GPU, one task of the rule's `threads` CPUs, with memory and a time limit."""
    assert args.gpus is None and args.gres is None, args
    assert args.cpus_per_task == str(threads), args
    assert_one_node_one_task(args)
    assert args.mem and args.time, args


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path]:
    """The workflow with the repository's params.yaml, the stand-in SLURM commands, and inputs of the jobs below."""
    base = tmp_path_factory.mktemp("slurm")
    root = make_project(base / "project", yaml.safe_load((REPO / "params.yaml").read_text()))
    return root, stand_in_bin(base / "bin")


# How a user names the account and partition: on the command line (README), or not at all (the plugin's guesses;
# the profile's own default-resources then apply, if it has any).
INVOCATIONS = {"command_line": ["--default-resources", f"slurm_account={ACCOUNT}", f"slurm_partition={PARTITION}"],
               "guessed": []}


@pytest.fixture(scope="module", params=sorted(INVOCATIONS))
def paper_jobs(request, project) -> tuple[dict, dict]:
    """Paper preset: an 8-GPU and a 4-GPU training, an evaluation and a download."""
    root, bin_dir = project
    cfg = load_config(root / "params.yaml", "paper")
    by_gpus = {}
    for name, exp in cfg.experiments.items():
        by_gpus.setdefault(cfg.recipe(exp).gpus, name)
    trained, evaluated = [by_gpus[8], by_gpus[4]], [next(n for n in cfg.experiments if n not in by_gpus.values())]
    dataset = "hmdb51"
    download = next(iter(cfg.dataset(dataset).files))
    targets = place_inputs(root, "paper", trained, evaluated) + [f"resources/paper/downloads/{dataset}/{download}"]
    names = {"train8": f"rule_train_wildcards_{trained[0]}_0", "train4": f"rule_train_wildcards_{trained[1]}_0",
             "evaluate": f"rule_evaluate_wildcards_{evaluated[0]}_0",
             "download": f"rule_download_wildcards_{dataset}_{download}"}
    record = root.parent / f"sbatch-paper-{request.param}.jsonl"
    return names, submit(root, bin_dir, targets, INVOCATIONS[request.param], record)  # the profile's preset=paper


def test_paper_training_gets_every_gpu_of_one_node_and_8_cpus_per_gpu(paper_jobs):
    names, jobs = paper_jobs
    assert_gpu_job(jobs[names["train8"]], 8)
    assert_gpu_job(jobs[names["train4"]], 4)


def test_paper_evaluation_gets_one_gpu(paper_jobs):
    names, jobs = paper_jobs
    assert_gpu_job(jobs[names["evaluate"]], 1)


def test_paper_data_job_is_a_one_cpu_job(paper_jobs):
    names, jobs = paper_jobs
    assert_cpu_job(jobs[names["download"]], 1)


def test_account_and_partition_reach_sbatch(paper_jobs):
    _, jobs = paper_jobs
    assert jobs and all(a.account == ACCOUNT and a.partition == PARTITION for a in jobs.values())


def test_gpu_synthetic_training_requests_a_gpu(project):
    """`--config preset=gpu_synthetic` (over the profile's paper): its training runs on one GPU, its stand-in
    publishing on 2 CPUs; the job's own Snakemake gets the same preset."""
    root, bin_dir = project
    targets = place_inputs(root, "gpu_synthetic", ["mk200_r50_tsn"], []) + ["resources/gpu_synthetic/remote/ucf101"]
    extra = ["--config", "preset=gpu_synthetic", *INVOCATIONS["command_line"]]
    jobs = submit(root, bin_dir, targets, extra, root.parent / "sbatch-gpu_synthetic.jsonl")
    train = jobs["rule_train_wildcards_mk200_r50_tsn_0"]
    assert_gpu_job(train, 1)
    assert "preset=gpu_synthetic" in train.wrap
    assert_cpu_job(jobs["rule_publish_synthetic_wildcards_ucf101"], 2)
