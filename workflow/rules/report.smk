# 3-split means, the tables reviewers read (the paper's value beside the reproduced one), and the report site.


rule aggregate:
    input:
        lambda w: [f"{run_dir(e)}/metrics.json" for e in CFG.groups[w.group]],
    output:
        f"results/{PRESET}/runs/{{group}}/metrics.json",
    wildcard_constraints:
        group=GROUPS_RE,
    params:
        preset=PRESET,
    # Measured at the paper's size (benchmarks/results/h100/rehearsal/jobs.csv): aggregate 135 MB, report 740 MB,
    # each under 20 s.
    resources:
        mem_mb=500,
        runtime=10,
    log:
        f"logs/{PRESET}/aggregate/{{group}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/aggregate/{{group}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm aggregate --group {wildcards.group} --preset {params.preset} > {log} 2>&1"


rule report_table:
    input:
        table_inputs,
    # reports/ is committed, so Snakemake would take it as up to date on a fresh clone and run nothing;
    # the preset's own copy under results/ (never committed) is what all_tables asks for.
    output:
        csv=report("reports/{table}.csv", caption="../report/table.rst", category="Tables"),
        md="reports/{table}.md",
        archive=multiext(f"{TABLES_DIR}/{{table}}", ".csv", ".md"),
    wildcard_constraints:
        table="|".join(TABLES),
    params:
        preset=PRESET,
        tables=lambda w, output: os.path.dirname(output.archive if isinstance(output.archive, str) else output.archive[0]),
        rows=lambda w: CFG.tables[w.table].rows,
        model=CFG.preset.model.__dict__,  # the table shows params and FLOPs at the preset's input
        input=CFG.preset.input.__dict__,
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"logs/{PRESET}/report/{{table}}.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/report/{{table}}.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm report --table {wildcards.table} --preset {params.preset} --out reports --archive {params.tables} "
        "> {log} 2>&1"


rule report_site:
    input:
        expand(f"{TABLES_DIR}/{{table}}.csv", table=TABLES),
    output:
        html=report("reports/index.html", caption="../report/index.rst", category="Report"),
        claims=report("reports/claims.md", caption="../report/claims.rst", category="Claims"),
        claims_json="reports/claims.json",
        provenance="reports/provenance.json",
        figures=report(directory("reports/figures"), patterns=["{name}.png"], caption="../report/figures.rst",
                       category="Figures"),
        archive=f"{TABLES_DIR}/index.html",
    params:
        preset=PRESET,
        tables=lambda w, output: os.path.dirname(output.archive if isinstance(output.archive, str) else output.archive[0]),
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"logs/{PRESET}/report/site.log",
    benchmark:
        f"logs/{PRESET}/benchmarks/report/site.tsv"
    conda:
        "../envs/ctm.yaml"
    shell:
        "ctm report --site --preset {params.preset} --out reports --tables {params.tables} --logs logs/{params.preset} > {log} 2>&1 "
        "&& rm -rf {params.tables}/figures && cp -r reports/figures reports/index.html {params.tables}/"
