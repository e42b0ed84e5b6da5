# Training and multi-view evaluation of every experiment of params.yaml.


rule train:
    input:
        store=experiment_store,
        parent=parent_checkpoint,
        weights=experiment_weights,
        code=code_files("train"),  # as dvc.yaml's deps: a change reruns training (ctm/pipeline/code.py)
    output:
        checkpoint=path(paths.checkpoint, "{experiment}"),
        log=path(paths.train_log, "{experiment}"),
    params:
        preset=PRESET,
        spec=training_params,
        out=lambda w: run_dir(w.experiment),
        root=experiment_root,
        init=lambda w: "".join(f" --init-checkpoint {c}" for c in parent_checkpoint(w)),
        launcher=lambda w: launcher(experiment_gpus(w) if GPU else 1),
    # The command always uses one thread (bit-identical to `dvc repro`); `threads` paces the local scheduler and, on
    # SLURM, is the job's --cpus-per-task (a GPU job's data-loader workers: 8 per GPU).
    threads: lambda w: cores_per_cpu_job() if not GPU else 8 * experiment_gpus(w)
    # A preempted run (SIGTERM) saves resume.pt and exits 75; the retry resumes it.
    retries: 2
    resources:
        gpu=lambda w: experiment_gpus(w) if GPU else 0,
        nodes=1,  # torchrun --standalone (common.smk: launcher) starts every process on one node
        mem_mb=lambda w: 4000 if not GPU else 32000 * experiment_gpus(w),
        runtime=30 if not GPU else 4320,
    log:
        job_log("train", "{experiment}"),
    benchmark:
        job_benchmark("train", "{experiment}")
    conda:
        "../envs/ctm.yaml"
    shell:
        "{params.launcher} train --experiment {wildcards.experiment} --preset {params.preset} --root {params.root} --store {input.store}"
        "{params.init} --out {params.out} --threads 1 > {log} 2>&1"


rule evaluate:
    input:
        store=experiment_store,
        checkpoint=rules.train.output.checkpoint,
        code=code_files("evaluate"),
    output:
        metrics=path(paths.metrics, "{experiment}"),
        predictions=path(paths.predictions, "{experiment}"),
        confusion=path(paths.confusion, "{experiment}"),
    params:
        preset=PRESET,
        test=test_params(),
        run=lambda w: run_dir(w.experiment),
        root=experiment_root,
    threads: cores_per_cpu_job() if not GPU else 8
    resources:
        gpu=1 if GPU else 0,
        nodes=1,
        mem_mb=4000 if not GPU else 32000,
        runtime=10 if not GPU else 240,
    log:
        job_log("evaluate", "{experiment}"),
    benchmark:
        job_benchmark("evaluate", "{experiment}")
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm evaluate --experiment {wildcards.experiment} --preset {params.preset} --root {params.root} "
        "--store {input.store} --run-dir {params.run} --threads 1 > {log} 2>&1"
