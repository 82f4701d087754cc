rule evaluate_model:
    input:
        model=RESULTS / "runs" / "{run}" / "seed{seed}" / "model.pt",
    output:
        csv=RESULTS / "runs" / "{run}" / "seed{seed}" / "evaluation.csv",
        panels=directory(RESULTS / "runs" / "{run}" / "seed{seed}" / "panels"),
    log:
        RESULTS / "logs" / "evaluate_model/{run}_seed{seed}.log",
    conda:
        "../envs/tvseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        runtime=config["resources"]["evaluate_runtime_min"],
    params:
        tvseg=TVSEG,
        settings=evaluation_params,
    shell:
        "{params.tvseg} evaluate --run {wildcards.run} --seed {wildcards.seed} --model {input.model} "
        "--out {output.csv} --qualitative {output.panels} --config $TVSEG_CONFIG --quiet > {log} 2>&1"


rule collect_metrics:
    input:
        evaluation_files(),
    output:
        RESULTS / "metrics.csv",
    log:
        RESULTS / "logs" / "collect_metrics.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} collect {input} --out {output} > {log} 2>&1"
