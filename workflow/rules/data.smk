# Datasets in their official on-disk layout under resources/<preset>/<dataset>.
# Synthetic presets write them here; the paper preset reads the official files extracted there (docs/datasets.md).

if SYNTHETIC:

    rule synthesize_dataset:
        output:
            directory(f"resources/{PRESET}/{{dataset}}"),
        wildcard_constraints:
            dataset="|".join(SYNTHETIC),
        params:
            spec=lambda w: CFG.dataset(w.dataset).synthetic.__dict__,
        threads: 2
        resources:
            mem_mb=2000,
            runtime=30,
        log:
            f"logs/{PRESET}/synthesize/{{dataset}}.log",
        benchmark:
            f"logs/{PRESET}/benchmarks/synthesize/{{dataset}}.tsv"
        shell:
            "ctm synth --dataset {wildcards.dataset} --preset {PRESET} --out {output} --workers {threads} "
            "> {log} 2>&1"
