rule tune_post_tv:
    input:
        unpack(tuning_inputs),
    output:
        post_tv_choice("{dataset}"),
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
        folder=lambda wildcards: post_tv_choice(wildcards.dataset).parent,
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
        evaluation_files_of,
    output:
        dataset_results(config, "{dataset}") / "metrics.csv",
    log:
        RESULTS / "logs" / "collect_dataset_metrics/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} collect {input} --out {output} > {log} 2>&1"


rule collect_metrics:
    input:
        [dataset_results(config, d) / "metrics.csv" for d in DATASETS_IN_ORDER],
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


rule collect_dataset_lambdas:
    input:
        training_logs_of_regularized_runs_of,
    output:
        dataset_results(config, "{dataset}") / "lambdas.csv",
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
        [dataset_results(config, d) / "lambdas.csv" for d in DATASETS_IN_ORDER],
    output:
        RESULTS / "lambdas.csv",
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
        training_logs_with_curves,
    output:
        dataset_results(config, "{dataset}") / "curves.csv",
    log:
        RESULTS / "logs" / "collect_curves/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
    shell:
        "{params.tvseg} curves {input} --out {output} > {log} 2>&1"
