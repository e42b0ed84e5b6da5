# Helpers shared by the rules. The typed config and the path conventions come from the package itself,
# so the rules, the CLI and dvc.yaml cannot disagree about where files live.
import os
import re
import shlex

from snakemake.exceptions import WorkflowError

from ctm import paths
from ctm.locking import SLOTS_ENV
from ctm.config import load_config
from ctm.acquire.prepare import fill_remote
from ctm.vocabulary import DATASETS, sha256_prefix, weights_file_name, weights_url
from ctm.pipeline import plan, stages
from ctm.pipeline.code import code_files

CFG = load_config("params.yaml", config["preset"])
PRESET = CFG.preset_name
TABLES = list(CFG.tables)
SYNTHETIC = [name for name, spec in CFG.preset.datasets.items() if spec.source == "synthetic"]


def cores_per_cpu_job():
    """Cores a single-threaded CPU job claims so that at most one runs per physical core.

    Jobs run with --threads 1 (bit-identical to dvc repro), so `threads` here only paces the scheduler: with
    `--cores 8` on a 2-core machine each job claims 4 and two run at once; more at once only adds contention
    (measured: 4 concurrent trainings on 2 cores ran 1.7x slower per step than 2).
    """
    try:
        cores = workflow.cores
    except WorkflowError:  # no --cores (e.g. `snakemake --report`): nothing is scheduled
        return 1
    return max(1, cores // (os.cpu_count() or 1))


def path(where, *args):
    """ctm.paths' `where` for this preset, as a str; `{wildcard}` arguments stay Snakemake patterns."""
    return str(where(PRESET, *args))


def job_log(step, name):
    return path(paths.job_log, step, name)


def job_benchmark(step, name):
    return path(paths.job_benchmark, step, name)


def dataset_root(dataset):
    return path(paths.dataset_root, dataset)


TABLES_DIR = path(paths.tables_dir)
REPORTS = str(paths.REPORTS)  # the committed copies of the tables and the site


def run_dir(experiment):
    return path(paths.run_dir, experiment)


def experiment_root(wildcards):
    return dataset_root(CFG.experiment(wildcards.experiment).dataset)


GPU = CFG.preset.device == "cuda"  # GPU presets claim GPUs; the embedded one runs one CPU core per job

# Snakemake >= 9.10 can start jobs whose threads add up to more than --cores when their inputs were made in the same
# run (snakemake issue #3913; measured in `make tables`: 5-6 single-threaded trainings at once on 2 cores). A
# resource that its scheduler does account for caps a CPU preset's CPU-bound jobs at one per core
# (`--resources cpu_jobs=N` overrides the default).
if not GPU:
    workflow.global_resources.setdefault("cpu_jobs", len(os.sched_getaffinity(0)))
    # ... but its accounting leaks (snakemake issue #3815): measured in `make tables` with 9.15, 4 trainings at once
    # on 2 cores for 451 of 804 s. So every `ctm` job of a CPU preset also waits for one of as many CPU slots
    # (ctm.locking.cpu_slot, lock files under .snakemake/), inherited by the local jobs through the environment.
    if workflow.local_exec and not workflow.remote_exec:  # a cluster's jobs run on nodes of their own
        os.environ[SLOTS_ENV] = f"{workflow.global_resources['cpu_jobs']} {os.path.join('.snakemake', 'cpu_slots')}"


def cpu_jobs(processes=1):
    """The cores a CPU-bound job of a CPU preset takes (resource cpu_jobs); none on a GPU preset."""
    return 0 if GPU else processes


def experiment_gpus(wildcards):
    """GPUs of a training job: the plan's (ctm plan), i.e. the recipe's `gpus`."""
    return plan.train_job(CFG, wildcards.experiment, int(wildcards.seed)).devices


def job_runtime(step):
    """A train or evaluate job's `runtime` request (minutes): its planned time times the plan's margin, from the
    figures `ctm plan` prints (ctm/pipeline/plan.py), so that a dry run's requests add up to the plan."""
    return lambda wildcards: plan.request_minutes(CFG, step, wildcards.experiment, int(wildcards.seed))


def decode_runtime(wildcards, threads):
    """A decode job's `runtime` request (minutes) from the plan's frames and decode rate over its `threads`
    workers; for the decode job of data.smk to use (its resources are not changed here)."""
    return plan.decode_request_minutes(CFG, wildcards.dataset, threads)


def launcher(gpus):
    """`ctm` for one process; torchrun with one process per GPU that the job was granted (SLURM or local)."""
    if gpus <= 1:
        return "ctm"
    return (f"NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 "
            f"torchrun --standalone --nproc_per_node={gpus} -m ctm.cli")


def experiment_store(wildcards):
    return path(paths.store_dir, CFG.experiment(wildcards.experiment).dataset)


# ---- ImageNet weights (workflow/rules/weights.smk) ----
# WEIGHTS: {file name: URL} of the weights that experiments start from (a local path needs no rule);
# STANDIN_WEIGHTS: {file name: backbone} of those a synthetic preset publishes itself (`{remote}` in the URL)
WEIGHTS, STANDIN_WEIGHTS = {}, {}
for _backbone, _spec in CFG.weights().items():
    if weights_url(_spec) is not None:
        WEIGHTS[weights_file_name(_spec)] = fill_remote(weights_url(_spec), paths.weights_remote_dir(PRESET))
        if "{remote}" in _spec:
            STANDIN_WEIGHTS[weights_file_name(_spec)] = _backbone


def experiment_weights(wildcards):
    """An experiment that starts from ImageNet waits for its backbone's weights in the preset's weights folder."""
    exp = CFG.experiment(wildcards.experiment)
    spec = CFG.pretrained(exp)
    if exp.init is not None or spec is None or weights_url(spec) is None:
        return []
    return [path(paths.weights_file, weights_file_name(spec))]


def parent_checkpoint(wildcards):
    """A fine-tuning run waits for its parent's run of the same seed (`init` in params.yaml)."""
    parent = CFG.experiment(wildcards.experiment).init
    return [path(paths.checkpoint, paths.run_name(parent, wildcards.seed))] if parent else []


GROUPS_RE = "|".join(CFG.groups) or "^$"
EXPERIMENTS_RE = "|".join(CFG.experiments)
CELLS_RE = "|".join([*CFG.groups, *CFG.experiments])
RUN = paths.run_name("{experiment}", "{seed}")  # one training run: an experiment and one of the preset's seeds




def table_inputs(wildcards):
    """The metrics of each cell (its runs' mean: ctm aggregate) and its runs' predictions (the cell's interval)."""
    names = CFG.tables[wildcards.table].names()
    runs = [r for n in names for r in CFG.cell_runs(n)]
    return [path(paths.metrics, n) for n in names] + [path(paths.predictions, r) for r in runs]


def site_inputs(wildcards):
    """What the site reads besides the tables: every run's test predictions (the claims' paired tests) and training
    log (the curves, the provenance's throughput), and another seed set's verdicts where they are kept (the
    stability section of claims.md)."""
    runs = [r for n in dict.fromkeys(n for t in CFG.tables.values() for n in t.names()) for r in CFG.cell_runs(n)]
    other = paths.other_seeds_claims(PRESET)
    return ([path(paths.predictions, r) for r in runs] + [path(paths.train_log, r) for r in runs]
            + ([str(other)] if other.is_file() else []))


def test_params():
    """What decides an experiment's test metrics besides its checkpoint (a change reruns the evaluation)."""
    limits = CFG.preset.limits
    return {**CFG.preset.test.__dict__, **({"max_videos": limits.test_videos} if limits is not None else {})}


def training_params(wildcards):
    """What decides a checkpoint: a change reruns training (Snakemake's params rerun trigger)."""
    params = CFG.experiment_params(wildcards.experiment, int(wildcards.seed))
    params.pop("test")
    return params


# ---- datasets (workflow/rules/data.smk) ----
DOWNLOADED = [name for name, spec in CFG.preset.datasets.items() if spec.source in ("synthetic", "download")]
PLAIN_FILES = "|".join(
    re.escape(f) for d in DOWNLOADED for f, spec in CFG.dataset(d).files.items() if not spec.extract
) or "^$"
PUBLISHED_FILES = "|".join(re.escape(f) for d in DOWNLOADED for f in CFG.dataset(d).files) or "^$"


def remote_dir(dataset):
    return path(paths.remote_dir, dataset)


def remote_input(wildcards):
    """A synthetic dataset's downloads wait for its stand-in to be published."""
    return [remote_dir(wildcards.dataset)] if wildcards.dataset in SYNTHETIC else []


def file_urls(dataset, name):
    """The file's mirrors, in the order `ctm download` tries them."""
    return [fill_remote(u, paths.remote_dir(PRESET, dataset)) for u in CFG.dataset(dataset).files[name].urls]


# Every value put into a shell command of the rules is quoted (`{x:q}`; a list's items one by one): a URL or a name in
# params.yaml holding a quote or a `;` stays one argument and runs nothing. Options are therefore lists of arguments.


def checksum_args(dataset, name):
    spec, f = CFG.dataset(dataset), CFG.dataset(dataset).files[name]
    args = ["--sha256", f.sha256] if f.sha256 else []
    args += ["--md5", f.md5] if f.md5 else []
    args += ["--size", str(f.size)] if f.size is not None else []
    if spec.checksums:
        args += ["--checksums", f"{remote_dir(dataset)}/{spec.checksums}"]
    return args


def extract_flags(dataset, name):
    f = CFG.dataset(dataset).files[name]
    return ["--strip-components", str(f.strip_components)] * bool(f.strip_components) + ["--inner-rars"] * f.inner_rars


def annotation_files(wildcards):
    """What makes a dataset root's annotations complete: each archive extracted, each plain file in place."""
    d = wildcards.dataset
    return [path(paths.extracted_marker, d, name) if spec.extract else f"{dataset_root(d)}/{name}"
            for name, spec in CFG.dataset(d).files.items()]


def clips_of(source):
    """A wildcard pattern of the datasets whose clips come from `source` (cvdf, youtube, local); none: no match."""
    names = [d for d, spec in CFG.preset.datasets.items() if spec.clips and spec.clips.source == source]
    return "|".join(names) or "(?!x)x"


def clips_url(dataset):
    return fill_remote(CFG.dataset(dataset).clips.url, paths.remote_dir(PRESET, dataset))


def youtube_pace(dataset):
    clips = CFG.dataset(dataset).clips
    return ["--per-hour", str(clips.per_hour), "--stop-after-blocks", str(clips.stop_after_blocks)]


def shard_records(wildcards):
    """Every shard's record of a CVDF dataset: known once its shard lists are fetched (checkpoint shard_list)."""
    from pathlib import Path

    from ctm.acquire.cvdf import read_shard_list

    d, files = wildcards.dataset, []
    for subset, url in CFG.dataset(d).clips.shard_lists.items():
        listed = checkpoints.shard_list.get(dataset=d, subset=subset).output[0]
        count = len(read_shard_list(Path(listed), fill_remote(url, paths.remote_dir(PRESET, d))))
        files += [path(paths.shard_record, d, subset, i) for i in range(count)]
    return files


def dataset_ready(wildcards):
    """Annotations, plus the clips' manifest for the Kinetics datasets."""
    files = annotation_files(wildcards)
    if CFG.dataset(wildcards.dataset).clips:
        files.append(path(paths.videos_manifest, wildcards.dataset))
    return files



wildcard_constraints:
    dataset="|".join(DATASETS),
    experiment=EXPERIMENTS_RE,
    seed="|".join(str(s) for s in CFG.seeds),
