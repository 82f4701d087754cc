# The patterns of a noise-curve figure's files (tvseg.pipeline.plan spells them once).
NOISE_FIGURE = noise_figure_files(config, "{number}", "{dataset}")


rule plot_noise_curves:
    input:
        unpack(inputs_of("plot_noise_curves")),
    output:
        png=report(
            NOISE_FIGURE["png"],
            caption="../report/noise_curves.rst",
            category="Figures 2/4/6",
            # one label: two labels with two values each would make the report show a toggle
            # and a blank page (Snakemake's report pairs values that do not exist)
            labels={"figure": "Figure {number} ({dataset})"},
        ),
        pdf=NOISE_FIGURE["pdf"],
    log:
        RESULTS / "logs" / "plot_noise_curves/figure{number}_{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} figure --metrics {input.metrics} --dataset {wildcards.dataset} "
        "--png {output.png} --pdf {output.pdf} --config $TVSEG_CONFIG > {log} 2>&1"


rule plot_claims:
    input:
        unpack(inputs_of("plot_claims")),
    output:
        png=report(
            claims_figure_files(config, "{dataset}")["png"],
            caption="../report/claims_figure.rst",
            category="Claims",
            labels={"dataset": "{dataset}"},
        ),
        pdf=claims_figure_files(config, "{dataset}")["pdf"],
    log:
        RESULTS / "logs" / "plot_claims/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        reading=config["noise"]["gaussian_reading"],
    shell:
        "{params.tvseg} claims-figure --metrics {input.metrics} --dataset {wildcards.dataset} "
        "--reading {params.reading} --png {output.png} --pdf {output.pdf} > {log} 2>&1"


rule plot_qualitative_panels:
    input:
        unpack(inputs_of("plot_qualitative_panels")),
    output:
        report(
            panels_figure(config, "{dataset}", "{train_data}"),
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
        unpack(inputs_of("plot_validation_curves")),
    output:
        report(
            curves_figure(config, "{dataset}"),
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


rule check_levelling:
    input:
        unpack(inputs_of("check_levelling")),
    output:
        md=levelling_files(config, "{dataset}")["md"],
        png=report(
            levelling_files(config, "{dataset}")["png"],
            caption="../report/levelling.rst",
            category="Validation curves",
            labels={"dataset": "{dataset} (levelling check)"},
        ),
    log:
        RESULTS / "logs" / "check_levelling/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} levelling --curves {input.curves} --longer {input.longer} --dataset {wildcards.dataset} "
        "--md {output.md} --png {output.png} --config $TVSEG_CONFIG > {log} 2>&1"
