# The patterns of a table's files (tvseg.pipeline.plan spells them once).
TABLE = table_files(config, "{number}", "{reading}")


rule render_table:
    input:
        unpack(inputs_of("render_table")),
    output:
        md=TABLE["md"],
        tex=TABLE["tex"],
        csv=TABLE["csv"],
        html=report(
            TABLE["html"],
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
        prefix=lambda wildcards, output: Path(output.md).with_suffix(""),
    shell:
        "{params.tvseg} table --metrics {input.metrics} --number {wildcards.number} --reading {wildcards.reading} "
        "--out-prefix {params.prefix} --config $TVSEG_CONFIG > {log} 2>&1"


rule summarize_metrics:
    input:
        unpack(inputs_of("summarize_metrics")),
    output:
        json=results_file(config, "summary.json"),
    log:
        RESULTS / "logs" / "summarize_metrics.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} summary --metrics {input.metrics} --out {output} > {log} 2>&1"


rule summarize_machines:
    input:
        unpack(inputs_of("summarize_machines")),
    output:
        md=results_file(config, "machines.md"),
    log:
        RESULTS / "logs" / "summarize_machines.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} machines --provenance {input.provenance} --out {output} > {log} 2>&1"


rule check_claims:
    input:
        unpack(inputs_of("check_claims")),
    output:
        md=results_file(config, "claims.md"),
        html=report(
            results_file(config, "claims.html"),
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
        unpack(inputs_of("render_verdict")),
    output:
        md=results_file(config, "verdict.md"),
    log:
        RESULTS / "logs" / "render_verdict.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        # the README's verdict block is this file (make verdict copies it in; tests/docs/test_prose.py compares)
        "{params.tvseg} verdict --metrics {input.metrics} --out {output} --config $TVSEG_CONFIG > {log} 2>&1"


rule render_per_class_table:
    input:
        unpack(inputs_of("render_per_class_table")),
    output:
        md=per_class_table(config, "{dataset}"),
    log:
        RESULTS / "logs" / "render_per_class_table/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} per-class --metrics {input.metrics} --dataset {wildcards.dataset} --out {output} "
        "--config $TVSEG_CONFIG > {log} 2>&1"
