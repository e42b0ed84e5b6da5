# ctm-repro: regenerate the paper's tables. `snakemake --cores 8 all_tables` on the embedded default;
# `--config preset=paper` for the paper's scale. params.yaml is the single source of truth.
from snakemake.utils import min_version

from ctm.config import refuse_overrides

min_version("9.0")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


# The jobs read params.yaml themselves: an override other than `preset` is an error, not silently ignored.
# params.yaml is checked against ctm/config/params.schema.yaml by ctm.config.load_config (common.smk),
# the same check that every `ctm` command and `dvc repro` make.
refuse_overrides(config)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/weights.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


rule all_tables:
    default_target: True
    input:
        expand("{reports}/{table}.{ext}", reports=REPORTS, table=TABLES, ext=("csv", "md")),
        expand("{tables}/{table}.{ext}", tables=TABLES_DIR, table=TABLES, ext=("csv", "md")),
        rules.report_site.output,
        # every run's training curves (DVC's plots; not read by the tables)
        rules.curves.output,


for _table in TABLES:

    rule:
        name:
            _table
        input:
            f"{REPORTS}/{_table}.csv",
            f"{TABLES_DIR}/{_table}.csv",
