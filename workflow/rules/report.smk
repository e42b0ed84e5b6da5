# The tables reviewers read: the paper's value beside the reproduced one.


rule report_table:
    input:
        table_metrics,
    output:
        csv="reports/{table}.csv",
        md="reports/{table}.md",
    wildcard_constraints:
        table="|".join(TABLES),
    params:
        rows=lambda w: CFG.tables[w.table].rows,
    log:
        f"logs/{PRESET}/report/{{table}}.log",
    shell:
        "ctm report --table {wildcards.table} --preset {PRESET} --out reports > {log} 2>&1"
