# ctm-repro: regenerate the paper's tables. `snakemake --cores 8 all_tables` on the embedded default;
# `--config preset=paper` for the paper's scale. params.yaml is the single source of truth.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "params.yaml"


report: "workflow/report/workflow.rst"


validate(config, "workflow/schemas/params.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/weights.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


rule all_tables:
    default_target: True
    input:
        expand("reports/{table}.{ext}", table=TABLES, ext=("csv", "md")),
        expand("{tables}/{table}.{ext}", tables=TABLES_DIR, table=TABLES, ext=("csv", "md")),
        rules.report_site.output,


for _table in TABLES:

    rule:
        name:
            _table
        input:
            f"reports/{_table}.csv",
            f"{TABLES_DIR}/{_table}.csv",
