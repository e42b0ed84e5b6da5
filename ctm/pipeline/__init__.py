"""The pipeline's description shared by Snakemake (workflow/rules/*.smk) and DVC (dvc.yaml, generated here): which
code each step depends on (`code`) and the DVC stages written from params.yaml and ctm.paths (`dvc_yaml`)."""
