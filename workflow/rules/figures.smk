rule plot_noise_curves:
    input:
        metrics=RESULTS / "metrics.csv",
    output:
        png=report(
            RESULTS / "figures" / "figure{number}_{dataset}.png",
            caption="../report/noise_curves.rst",
            category="Figures 2/4/6",
            # one label: two labels with two values each would make the report show a toggle
            # and a blank page (Snakemake's report pairs values that do not exist)
            labels={"figure": "Figure {number} ({dataset})"},
        ),
        pdf=RESULTS / "figures" / "figure{number}_{dataset}.pdf",
    log:
        RESULTS / "logs" / "plot_noise_curves/figure{number}_{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} figure --metrics {input.metrics} --dataset {wildcards.dataset} "
        "--png {output.png} --pdf {output.pdf} --config $TVSEG_CONFIG > {log} 2>&1"


rule plot_qualitative_panels:
    input:
        panel_folders,
    output:
        report(
            RESULTS / "figures" / "panels_{dataset}_{train_data}.png",
            caption="../report/panels.rst",
            category="Qualitative results",
            labels={"dataset": "{dataset}", "training data": "{train_data}"},
        ),
    log:
        RESULTS / "logs" / "plot_qualitative_panels/{dataset}_{train_data}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        conditions=config["evaluation"]["qualitative_conditions"],
    shell:
        "{params.tvseg} panels {input} --out {output} --conditions {params.conditions} "
        "--dataset {wildcards.dataset} > {log} 2>&1"


rule plot_validation_curves:
    input:
        curves=dataset_results(config, "{dataset}") / "curves.csv",
    output:
        report(
            RESULTS / "figures" / "curves_{dataset}.png",
            caption="../report/curves.rst",
            category="Validation curves",
            labels={"dataset": "{dataset}"},
        ),
    log:
        RESULTS / "logs" / "plot_validation_curves/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} curve-figure --curves {input.curves} --dataset {wildcards.dataset} "
        "--png {output} --config $TVSEG_CONFIG > {log} 2>&1"
