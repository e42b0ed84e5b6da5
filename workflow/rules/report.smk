# Each cell's mean over its runs (seeds, and a group's 3 splits), the tables reviewers read (the paper's value beside
# the reproduced one), and the report site.


rule aggregate:
    input:
        lambda w: [path(paths.metrics, r) for r in CFG.cell_runs(w.cell)],
        code=code_files("aggregate"),
    output:
        path(paths.metrics, "{cell}"),
    wildcard_constraints:
        cell=CELLS_RE,
    params:
        preset=PRESET,
    # Measured at the paper's size (benchmarks/results/h100-torch2.11/rehearsal/jobs.csv): aggregate 135 MB, report 740 MB,
    # each under 20 s.
    resources:
        mem_mb=500,
        runtime=10,
    log:
        job_log("aggregate", "{cell}"),
    benchmark:
        job_benchmark("aggregate", "{cell}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.aggregate(cell="{wildcards.cell:q}", preset="{params.preset:q}", log="{log:q}")


rule report_table:
    input:
        table_inputs,
        code=code_files("report_table"),
    # reports/ is committed, so Snakemake would take it as up to date on a fresh clone and run nothing;
    # the preset's own copy under results/ (never committed) is what all_tables asks for.
    output:
        csv=report(str(paths.report_file("{table}", "csv")), caption="../report/table.rst", category="Tables"),
        md=str(paths.report_file("{table}", "md")),
        archive=multiext(f"{TABLES_DIR}/{{table}}", ".csv", ".md"),
    wildcard_constraints:
        table="|".join(TABLES),
    params:
        preset=PRESET,
        tables=lambda w, output: os.path.dirname(output.archive if isinstance(output.archive, str) else output.archive[0]),
        reports=lambda w, output: os.path.dirname(output.csv),
        rows=lambda w: CFG.tables[w.table].rows,
        model=CFG.preset.model.__dict__,  # the table shows params and FLOPs at the preset's input
        input=CFG.preset.input.__dict__,
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        job_log("report", "{table}"),
    benchmark:
        job_benchmark("report", "{table}")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.report_table(table="{wildcards.table:q}", preset="{params.preset:q}", out="{params.reports:q}",
                            archive="{params.tables:q}", log="{log:q}")


rule report_site:
    input:
        expand(path(paths.table_archive, "{table}", "csv"), table=TABLES),
        site_inputs,
        code=code_files("report_site"),
    output:
        html=report(f"{REPORTS}/index.html", caption="../report/index.rst", category="Report"),
        claims=report(f"{REPORTS}/claims.md", caption="../report/claims.rst", category="Claims"),
        claims_json=f"{REPORTS}/claims.json",
        provenance=f"{REPORTS}/provenance.json",
        metrics=str(paths.table_metrics()),  # DVC's metrics: every reproduced cell (ctm.report.summary)
        figures=report(directory(f"{REPORTS}/figures"), patterns=["{name}.png"], caption="../report/figures.rst",
                       category="Figures"),
        archive=f"{TABLES_DIR}/index.html",
    params:
        preset=PRESET,
        tables=lambda w, output: os.path.dirname(output.archive if isinstance(output.archive, str) else output.archive[0]),
        reports=lambda w, output: os.path.dirname(output.html),
        logs=path(paths.logs_dir),
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        job_log("report", "site"),
    benchmark:
        job_benchmark("report", "site")
    conda:
        "../envs/ctm.yaml"
    shell:
        stages.report_site(preset="{params.preset:q}", out="{params.reports:q}", tables="{params.tables:q}",
                           logs="{params.logs:q}", figures="{output.figures:q}", index="{output.html:q}",
                           log="{log:q}")
