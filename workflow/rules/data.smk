# Datasets: publish (synthetic presets only) -> download -> extract -> clips (Kinetics: the CVDF mirror's shards,
# local folders or YouTube, as params.yaml's `clips` says) -> decode.
# Every dataset goes through the same rules; a synthetic preset only adds `publish_synthetic`, whose folder stands in
# for the dataset's hosts (file:// URLs). Paths: ctm/paths.py; file lists and URLs: params.yaml.


if SYNTHETIC:

    rule publish_synthetic:
        input:
            code=code_files("publish"),  # as dvc.yaml's deps (ctm/pipeline/code.py)
        output:
            directory(path(paths.remote_dir, "{dataset}")),
        wildcard_constraints:
            dataset="|".join(SYNTHETIC),
        params:
            preset=PRESET,
            spec=lambda w: CFG.dataset(w.dataset).synthetic.__dict__,
        threads: 2
        resources:
            mem_mb=2000,
            cpu_jobs=cpu_jobs(2),
            runtime=30,
        log:
            job_log("publish_synthetic", "{dataset}"),
        benchmark:
            job_benchmark("publish_synthetic", "{dataset}")
        conda:
            "../envs/ctm.yaml"
        shell:
            stages.synth(dataset="{wildcards.dataset:q}", preset="{params.preset:q}", out="{output:q}",
                         workers="{threads}", log="{log:q}")


rule download:
    input:
        remote_input,
    output:
        path(paths.downloaded_file, "{dataset}", "{file}"),
    wildcard_constraints:
        file=PUBLISHED_FILES,
    params:
        urls=lambda w: file_urls(w.dataset, w.file),
        checks=lambda w: checksum_args(w.dataset, w.file),
    retries: 2
    resources:
        mem_mb=500,
        runtime=600,
    log:
        job_log("download", "{dataset}/{file}"),
    benchmark:
        job_benchmark("download", "{dataset}/{file}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.download(urls="{params.urls:q}", out="{output:q}", checks="{params.checks:q}", log="{log:q}")


rule extract:
    input:
        path(paths.downloaded_file, "{dataset}", "{file}"),
    output:
        path(paths.extracted_marker, "{dataset}", "{file}"),
    params:
        root=lambda w: dataset_root(w.dataset),
        flags=lambda w: extract_flags(w.dataset, w.file),
    resources:
        mem_mb=1000,
        runtime=240,
    log:
        job_log("extract", "{dataset}/{file}"),
    benchmark:
        job_benchmark("extract", "{dataset}/{file}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.extract(archive="{input:q}", out="{params.root:q}", flags="{params.flags:q}", log="{log:q}")


rule place_file:
    input:
        path(paths.downloaded_file, "{dataset}", "{file}"),
    output:
        f"{dataset_root('{dataset}')}/{{file}}",  # a file used as it is downloaded (not an archive)
    wildcard_constraints:
        file=PLAIN_FILES,
    resources:
        mem_mb=500,
        runtime=10,
    log:
        job_log("place_file", "{dataset}/{file}"),
    benchmark:
        job_benchmark("place_file", "{dataset}/{file}")
    conda:
        "../envs/ctm.yaml"
    shell:
        "cp {input:q} {output:q} > {log:q} 2>&1"


rule fetch_clips:
    input:
        annotation_files,
    output:
        path(paths.videos_manifest, "{dataset}"),
    wildcard_constraints:
        dataset=clips_of("youtube"),
    params:
        root=lambda w: dataset_root(w.dataset),
        url=lambda w: clips_url(w.dataset),
        pace=lambda w: youtube_pace(w.dataset),
        cache=path(paths.youtube_sources),
    threads: 8
    resources:
        mem_mb=4000,
        runtime=lambda w: 7 * 24 * 60 if CFG.dataset(w.dataset).source == "download" else 60,
    log:
        job_log("fetch_clips", "{dataset}"),
    benchmark:
        job_benchmark("fetch_clips", "{dataset}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.fetch_clips(dataset="{wildcards.dataset:q}", root="{params.root:q}", url_template="{params.url:q}",
                           workers="{threads}", pace="{params.pace:q}", source_cache="{params.cache:q}",
                           log="{log:q}")


# Kinetics from the CVDF mirror: each subset's shard list first (a checkpoint: the shards are known only then), then
# one job per shard (retried alone when it fails), then the manifest that accounts for every annotated clip.
checkpoint shard_list:
    input:
        remote_input,
    output:
        path(paths.shard_list, "{dataset}", "{subset}"),
    wildcard_constraints:
        dataset=clips_of("cvdf"),
        subset="train|val",
    params:
        preset=PRESET,
    retries: 2
    resources:
        mem_mb=500,
        runtime=10,
    log:
        job_log("shard_list", "{dataset}/{subset}"),
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.fetch_shard_list(dataset="{wildcards.dataset:q}", preset="{params.preset:q}",
                                subset="{wildcards.subset:q}", log="{log:q}")


rule fetch_shard:
    input:
        annotation_files,
        listed=path(paths.shard_list, "{dataset}", "{subset}"),
    output:
        path(paths.shard_record, "{dataset}", "{subset}", "{index}"),
    wildcard_constraints:
        dataset=clips_of("cvdf"),
        subset="train|val",
        index=r"\d+",
    params:
        preset=PRESET,
    retries: 2
    resources:
        mem_mb=1000,
        cpu_jobs=cpu_jobs(1),
        runtime=lambda w: 120 if CFG.dataset(w.dataset).source == "download" else 10,
    log:
        job_log("fetch_shard", "{dataset}/{subset}/{index}"),
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.fetch_shard(dataset="{wildcards.dataset:q}", preset="{params.preset:q}", subset="{wildcards.subset:q}",
                           index="{wildcards.index:q}", log="{log:q}")


rule clips_manifest:
    input:
        annotation_files,
        lists=lambda w: [path(paths.shard_list, w.dataset, s) for s in CFG.dataset(w.dataset).clips.shard_lists],
        records=shard_records,
    output:
        path(paths.videos_manifest, "{dataset}"),
    wildcard_constraints:
        dataset=clips_of("cvdf"),
    params:
        preset=PRESET,
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        job_log("clips_manifest", "{dataset}"),
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.clips_manifest(dataset="{wildcards.dataset:q}", preset="{params.preset:q}", log="{log:q}")


rule link_clips:
    input:
        annotation_files,
    output:
        path(paths.videos_manifest, "{dataset}"),
    wildcard_constraints:
        dataset=clips_of("local"),
    params:
        preset=PRESET,
    resources:
        mem_mb=1000,
        runtime=60,
    log:
        job_log("link_clips", "{dataset}"),
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.link_clips(dataset="{wildcards.dataset:q}", preset="{params.preset:q}", log="{log:q}")


rule decode:
    input:
        dataset_ready,
        code=code_files("decode"),
    output:
        directory(path(paths.store_dir, "{dataset}")),
    params:
        preset=PRESET,
        root=lambda w: dataset_root(w.dataset),
        short_side=CFG.preset.input.resize_short,  # `ctm decode --preset` reads it; here it reruns decode on change
    threads: 16 if GPU else 2
    resources:
        mem_mb=4000,
        cpu_jobs=cpu_jobs(2),
        runtime=lambda w: 24 * 60 if CFG.dataset(w.dataset).source == "download" else 60,
    log:
        job_log("decode", "{dataset}"),
    benchmark:
        job_benchmark("decode", "{dataset}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.decode(dataset="{wildcards.dataset:q}", preset="{params.preset:q}", root="{params.root:q}",
                      out="{output:q}", workers="{threads}", log="{log:q}")
