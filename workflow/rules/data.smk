# Datasets: publish (synthetic presets only) -> download -> extract -> fetch clips (Kinetics) -> decode.
# Every dataset goes through the same rules; a synthetic preset only adds `publish_synthetic`, whose folder stands in
# for the dataset's hosts (file:// URLs). Paths: ctm/paths.py; file lists and URLs: params.yaml.


if SYNTHETIC:

    rule publish_synthetic:
        output:
            directory(f"resources/{PRESET}/remote/{{dataset}}"),
        wildcard_constraints:
            dataset="|".join(SYNTHETIC),
        params:
            preset=PRESET,
            spec=lambda w: CFG.dataset(w.dataset).synthetic.__dict__,
        threads: 2
        resources:
            mem_mb=2000,
            runtime=30,
        log:
            f"logs/{PRESET}/publish_synthetic/{{dataset}}.log",
        benchmark:
            f"logs/{PRESET}/benchmarks/publish_synthetic/{{dataset}}.tsv"
        conda:
            "../envs/ctm.yaml"
        shell:
            "ctm synth --dataset {wildcards.dataset} --preset {params.preset} --out {output} --workers {threads} "
            "> {log} 2>&1"


rule download:
    input:
        remote_input,
    output:
        f"resources/{PRESET}/downloads/{{dataset}}/{{file}}",
    params:
        url=lambda w: file_url(w.dataset, w.file),
        checks=lambda w: checksum_args(w.dataset, w.file),
    retries: 2
    resources:
        mem_mb=500,
        runtime=600,
    log:
        f"logs/{PRESET}/download/{{dataset}}/{{file}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/download/{{dataset}}/{{file}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm download '{params.url}' --out {output} {params.checks} > {log} 2>&1"


rule extract:
    input:
        f"resources/{PRESET}/downloads/{{dataset}}/{{file}}",
    output:
        f"resources/{PRESET}/{{dataset}}/.extracted-{{file}}.json",
    params:
        root=lambda w: dataset_root(w.dataset),
        flags=lambda w: extract_flags(w.dataset, w.file),
    resources:
        mem_mb=1000,
        runtime=240,
    log:
        f"logs/{PRESET}/extract/{{dataset}}/{{file}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/extract/{{dataset}}/{{file}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm extract {input} --out {params.root} {params.flags} > {log} 2>&1"


rule place_file:
    input:
        f"resources/{PRESET}/downloads/{{dataset}}/{{file}}",
    output:
        f"resources/{PRESET}/{{dataset}}/{{file}}",
    wildcard_constraints:
        file=PLAIN_FILES,
    resources:
        mem_mb=500,
        runtime=10,
    log:
        f"logs/{PRESET}/place_file/{{dataset}}/{{file}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/place_file/{{dataset}}/{{file}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "cp {input} {output} > {log} 2>&1"


rule fetch_clips:
    input:
        annotation_files,
    output:
        f"resources/{PRESET}/{{dataset}}/videos_manifest.csv",
    params:
        root=lambda w: dataset_root(w.dataset),
        url=lambda w: clips_url(w.dataset),
    threads: 8
    resources:
        mem_mb=4000,
        runtime=lambda w: 7 * 24 * 60 if CFG.dataset(w.dataset).source == "download" else 60,
    log:
        f"logs/{PRESET}/fetch_clips/{{dataset}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/fetch_clips/{{dataset}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm fetch-clips --dataset {wildcards.dataset} --root {params.root} --url-template '{params.url}' "
        "--workers {threads} > {log} 2>&1"


rule decode:
    input:
        dataset_ready,
    output:
        directory(f"results/{PRESET}/data/{{dataset}}"),
    params:
        preset=PRESET,
        root=lambda w: dataset_root(w.dataset),
        short_side=CFG.preset.input.resize_short,  # `ctm decode --preset` reads it; here it reruns decode on change
    threads: 16 if GPU else 2
    resources:
        mem_mb=4000,
        runtime=lambda w: 24 * 60 if CFG.dataset(w.dataset).source == "download" else 60,
    log:
        f"logs/{PRESET}/decode/{{dataset}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/decode/{{dataset}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm decode --dataset {wildcards.dataset} --preset {params.preset} --root {params.root} --out {output} "
        "--workers {threads} > {log} 2>&1"
