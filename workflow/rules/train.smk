# Training and multi-view evaluation of every experiment of params.yaml, once per seed of the preset (`seeds`): a run
# is results/<preset>/runs/<experiment>/seed<k>/; a fine-tuning's run of seed k starts from its parent's run of seed k.


rule train:
    input:
        store=experiment_store,
        parent=parent_checkpoint,
        weights=experiment_weights,
        code=code_files("train"),  # as dvc.yaml's deps: a change reruns training (ctm/pipeline/code.py)
    output:
        checkpoint=path(paths.checkpoint, RUN),
        log=path(paths.train_log, RUN),
    params:
        preset=PRESET,
        spec=training_params,
        out=lambda w: run_dir(paths.run_name(w.experiment, w.seed)),
        root=experiment_root,
        init=lambda w: [a for c in parent_checkpoint(w) for a in ("--init-checkpoint", c)],
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
        cpu_jobs=cpu_jobs(1),
        runtime=job_runtime("train"),  # ctm plan's time for this job x its margin (common.smk)
    log:
        job_log("train", RUN),
    benchmark:
        job_benchmark("train", RUN)
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.train(launcher="{params.launcher}", experiment="{wildcards.experiment:q}", seed="{wildcards.seed:q}",
                     preset="{params.preset:q}", root="{params.root:q}", store="{input.store:q}",
                     init="{params.init:q}", out="{params.out:q}", log="{log:q}")


rule evaluate:
    input:
        store=experiment_store,
        checkpoint=rules.train.output.checkpoint,
        code=code_files("evaluate"),
    output:
        metrics=path(paths.metrics, RUN),
        predictions=path(paths.predictions, RUN),
        confusion=path(paths.confusion, RUN),
    params:
        preset=PRESET,
        test=test_params(),
        run=lambda w: run_dir(paths.run_name(w.experiment, w.seed)),
        root=experiment_root,
    threads: cores_per_cpu_job() if not GPU else 8
    resources:
        gpu=1 if GPU else 0,
        nodes=1,
        mem_mb=4000 if not GPU else 32000,
        cpu_jobs=cpu_jobs(1),
        runtime=job_runtime("evaluate"),
    log:
        job_log("evaluate", RUN),
    benchmark:
        job_benchmark("evaluate", RUN)
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.evaluate(experiment="{wildcards.experiment:q}", preset="{params.preset:q}", root="{params.root:q}",
                        store="{input.store:q}", run_dir="{params.run:q}", log="{log:q}")


# Every run's log.jsonl as curves.csv (epoch, loss, top1, lr): DVC's plots of the training curves (dvc.yaml `plots:`),
# in one job: a process per run would cost more than the rewriting.
ALL_RUNS = [paths.run_name(e, s) for e in CFG.experiments for s in CFG.seeds]


rule curves:
    input:
        logs=[path(paths.train_log, r) for r in ALL_RUNS],
        code=code_files("curves"),
    output:
        [path(paths.curves, r) for r in ALL_RUNS],
    params:
        runs=" ".join(shlex.quote(str(run_dir(r))) for r in ALL_RUNS),
    resources:
        mem_mb=200,
        runtime=5,
    log:
        job_log("curves", "all"),
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.curves(run_dirs="{params.runs}", log="{log:q}")
