# ImageNet weights: downloaded once per preset into resources/<preset>/weights (verified against the sha256 prefix in
# torchvision's file names), where every training job that starts from ImageNet finds them. A synthetic preset whose
# model.pretrained names `{remote}` publishes stand-in weights there first (ctm.standins.imagenet_weights).


if STANDIN_WEIGHTS:

    rule publish_weights:
        output:
            path(paths.remote_weights, "{weights}"),
        wildcard_constraints:
            weights="|".join(re.escape(name) for name in STANDIN_WEIGHTS),
        params:
            backbone=lambda w: STANDIN_WEIGHTS[w.weights],
            width=CFG.preset.model.width,
        resources:
            mem_mb=4000,
            runtime=10,
        log:
            job_log("publish_weights", "{weights}"),
        benchmark:
            job_benchmark("publish_weights", "{weights}")
        conda:
            "../envs/ctm.yaml"
        shell:
            stages.standin_weights(backbone="{params.backbone:q}", width="{params.width:q}", out="{output:q}",
                                   log="{log:q}")


if WEIGHTS:

    rule fetch_weights:
        input:
            lambda w: [path(paths.remote_weights, w.weights)] if w.weights in STANDIN_WEIGHTS else [],
        output:
            path(paths.weights_file, "{weights}"),
        wildcard_constraints:
            weights="|".join(re.escape(name) for name in WEIGHTS),
        params:
            url=lambda w: WEIGHTS[w.weights],
            check=lambda w: ["--sha256", sha256_prefix(w.weights)] if sha256_prefix(w.weights) else [],
        retries: 2
        resources:
            mem_mb=500,
            runtime=60,
        log:
            job_log("fetch_weights", "{weights}"),
        benchmark:
            job_benchmark("fetch_weights", "{weights}")
        conda:
            "../envs/ctm.yaml"
        shell:
            stages.download(urls="{params.url:q}", out="{output:q}", checks="{params.check:q}", log="{log:q}")
