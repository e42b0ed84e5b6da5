# Training and multi-view evaluation of every experiment of params.yaml.


rule train:
    input:
        store=experiment_store,
        parent=parent_checkpoint,
        weights=experiment_weights,
    output:
        checkpoint=f"results/{PRESET}/runs/{{experiment}}/checkpoint.pt",
        log=f"results/{PRESET}/runs/{{experiment}}/log.jsonl",
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
        f"logs/{PRESET}/train/{{experiment}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/train/{{experiment}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "{params.launcher} train --experiment {wildcards.experiment} --preset {params.preset} --root {params.root} --store {input.store}"
        "{params.init} --out {params.out} --threads 1 > {log} 2>&1"


rule evaluate:
    input:
        store=experiment_store,
        checkpoint=rules.train.output.checkpoint,
    output:
        metrics=f"results/{PRESET}/runs/{{experiment}}/metrics.json",
        predictions=f"results/{PRESET}/runs/{{experiment}}/predictions.csv",
        confusion=f"results/{PRESET}/runs/{{experiment}}/confusion.csv",
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
        f"logs/{PRESET}/evaluate/{{experiment}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/evaluate/{{experiment}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm evaluate --experiment {wildcards.experiment} --preset {params.preset} --root {params.root} "
        "--store {input.store} --run-dir {params.run} --threads 1 > {log} 2>&1"
