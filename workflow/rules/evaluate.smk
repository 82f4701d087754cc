rule tune_post_tv:
    input:
        unpack(inputs_of("tune_post_tv")),
    output:
        choice=post_tv_choice_path(config, "{dataset}"),
    log:
        RESULTS / "logs" / "tune_post_tv/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        runtime=config["resources"]["train_runtime_min"],
    params:
        tvseg=TVSEG,
        settings=tuning_params,
        folder=lambda wildcards, output: Path(output.choice).parent,
    shell:
        "{params.tvseg} tune-post-tv --dataset {wildcards.dataset} --out {params.folder} "
        "--config $TVSEG_CONFIG --quiet > {log} 2>&1"


rule evaluate_model:
    input:
        unpack(evaluation_inputs),
    output:
        csv=run_folder("{run}", "{seed}").evaluation,
        panels=directory(run_folder("{run}", "{seed}").panels),
    log:
        RESULTS / "logs" / "evaluate_model/{run}_seed{seed}.log",
    # before the next training: a long run stopped inside a seed then leaves its trained nets
    # evaluated, which carry_runs.py save keeps
    priority: 1
    conda:
        "../envs/tvseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        runtime=config["resources"]["evaluate_runtime_min"],
    params:
        tvseg=TVSEG,
        settings=evaluation_params,
        post_tv=lambda wildcards, input: (
            f"--post-tv-choice {input.post_tv}" if "post_tv" in input.keys() else ""
        ),
    shell:
        "{params.tvseg} evaluate --run {wildcards.run} --seed {wildcards.seed} --model {input.model} "
        "--out {output.csv} --qualitative {output.panels} --config $TVSEG_CONFIG --quiet "
        "{params.post_tv} > {log} 2>&1"


rule collect_dataset_metrics:
    input:
        unpack(inputs_of("collect_dataset_metrics")),
    output:
        csv=collected_file(config, "{dataset}", "metrics.csv"),
        provenance=collected_file(config, "{dataset}", PROVENANCE),
    log:
        RESULTS / "logs" / "collect_dataset_metrics/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} collect {input} --out {output.csv} --provenance {output.provenance} > {log} 2>&1"


rule collect_metrics:
    input:
        unpack(inputs_of("collect_metrics")),
    output:
        csv=results_file(config, "metrics.csv"),
        provenance=results_file(config, PROVENANCE),
    log:
        RESULTS / "logs" / "collect_metrics.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} collect {input.metrics} --out {output.csv} --provenance {output.provenance} > {log} 2>&1"


rule collect_dataset_lambdas:
    input:
        unpack(inputs_of("collect_dataset_lambdas")),
    output:
        csv=collected_file(config, "{dataset}", "lambdas.csv"),
    log:
        RESULTS / "logs" / "collect_dataset_lambdas/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} lambdas {input} --out {output} --config $TVSEG_CONFIG > {log} 2>&1"


rule collect_lambdas:
    input:
        unpack(inputs_of("collect_lambdas")),
    output:
        csv=results_file(config, "lambdas.csv"),
    log:
        RESULTS / "logs" / "collect_lambdas.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} collect {input} --out {output} --float-format %.6g > {log} 2>&1"


rule collect_curves:
    input:
        unpack(inputs_of("collect_curves")),
    output:
        csv=collected_file(config, "{dataset}", "curves.csv"),
    log:
        RESULTS / "logs" / "collect_curves/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} curves {input} --out {output} > {log} 2>&1"
