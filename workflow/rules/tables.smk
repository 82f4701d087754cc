rule render_table:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        md=RESULTS / "tables" / "table{number}_{reading}.md",
        tex=RESULTS / "tables" / "table{number}_{reading}.tex",
        csv=RESULTS / "tables" / "table{number}_{reading}.csv",
        html=report(
            RESULTS / "tables" / "table{number}_{reading}.html",
            caption="../report/table.rst",
            category="Tables 1-6",
            subcategory="sigma read as {reading}",
            labels={"table": "Table {number}"},
        ),
    log:
        RESULTS / "logs" / "render_table/table{number}_{reading}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        prefix=lambda wildcards: RESULTS
        / "tables"
        / f"table{wildcards.number}_{wildcards.reading}",
    shell:
        "{params.tvseg} table --metrics {input.metrics} --number {wildcards.number} --reading {wildcards.reading} "
        "--out-prefix {params.prefix} --config $TVSEG_CONFIG > {log} 2>&1"


rule summarize_metrics:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        RESULTS / "summary.json",
    log:
        RESULTS / "logs" / "summarize_metrics.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} summary --metrics {input.metrics} --out {output} > {log} 2>&1"


rule check_claims:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        md=RESULTS / "claims.md",
        html=report(
            RESULTS / "claims.html",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        RESULTS / "logs" / "check_claims.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} claims --metrics {input.metrics} --out {output.md} --html {output.html} > {log} 2>&1"


rule render_verdict:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        RESULTS / "verdict.md",
    log:
        RESULTS / "logs" / "render_verdict.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        # the README's verdict block is this file (make verdict copies it in; tests/test_prose.py compares)
        "{params.tvseg} verdict --metrics {input.metrics} --out {output} --config $TVSEG_CONFIG > {log} 2>&1"


rule render_per_class_table:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        RESULTS / "tables" / "per_class_{dataset}.md",
    log:
        RESULTS / "logs" / "render_per_class_table/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} per-class --metrics {input.metrics} --dataset {wildcards.dataset} --out {output} "
        "--config $TVSEG_CONFIG > {log} 2>&1"
