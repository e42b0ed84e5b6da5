# The tables reviewers read: the paper's value beside the reproduced one.


rule report_table:
    input:
        table_metrics,
    # reports/ is committed, so Snakemake would take it as up to date on a fresh clone and run nothing;
    # the preset's own copy under results/ (never committed) is what all_tables asks for.
    output:
        csv="reports/{table}.csv",
        md="reports/{table}.md",
        archive=multiext(f"{TABLES_DIR}/{{table}}", ".csv", ".md"),
    wildcard_constraints:
        table="|".join(TABLES),
    params:
        rows=lambda w: CFG.tables[w.table].rows,
        model=CFG.preset.model.__dict__,  # the table shows params and FLOPs at the preset's input
        input=CFG.preset.input.__dict__,
    log:
        f"logs/{PRESET}/report/{{table}}.log",
    shell:
        "ctm report --table {wildcards.table} --preset {PRESET} --out reports --archive {TABLES_DIR} "
        "> {log} 2>&1"
