# Training and multi-view evaluation of every experiment of params.yaml.


rule train:
    input:
        root=experiment_root,
    output:
        checkpoint=f"results/{PRESET}/runs/{{experiment}}/checkpoint.pt",
        log=f"results/{PRESET}/runs/{{experiment}}/log.jsonl",
    params:
        spec=training_params,
        out=lambda w: run_dir(w.experiment),
    # The command always uses one thread (bit-identical to `dvc repro`); `threads` only paces the scheduler.
    threads: cores_per_cpu_job() if PRESET != "paper" else 8
    # A preempted run (SIGTERM) saves resume.pt and exits 75; the retry resumes it.
    retries: 2
    resources:
        gpu=1 if PRESET == "paper" else 0,
        mem_mb=4000 if PRESET != "paper" else 64000,
        runtime=30 if PRESET != "paper" else 4320,
    log:
        f"logs/{PRESET}/train/{{experiment}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/train/{{experiment}}.tsv"
    shell:
        "ctm train --experiment {wildcards.experiment} --preset {PRESET} --root {input.root} --out {params.out} "
        "--threads 1 > {log} 2>&1"


rule evaluate:
    input:
        root=experiment_root,
        checkpoint=rules.train.output.checkpoint,
    output:
        metrics=f"results/{PRESET}/runs/{{experiment}}/metrics.json",
        predictions=f"results/{PRESET}/runs/{{experiment}}/predictions.csv",
        confusion=f"results/{PRESET}/runs/{{experiment}}/confusion.csv",
    params:
        test=CFG.preset.test.__dict__,
        run=lambda w: run_dir(w.experiment),
    threads: cores_per_cpu_job() if PRESET != "paper" else 8
    resources:
        gpu=1 if PRESET == "paper" else 0,
        mem_mb=4000 if PRESET != "paper" else 32000,
        runtime=10 if PRESET != "paper" else 240,
    log:
        f"logs/{PRESET}/evaluate/{{experiment}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/evaluate/{{experiment}}.tsv"
    shell:
        "ctm evaluate --experiment {wildcards.experiment} --preset {PRESET} --root {input.root} "
        "--run-dir {params.run} --threads 1 > {log} 2>&1"
