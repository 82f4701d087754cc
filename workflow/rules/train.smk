rule train_model:
    input:
        unpack(inputs_of("train_model")),
    output:
        model=run_folder("{run}", "{seed}").model,
        log_csv=run_folder("{run}", "{seed}").log,
    log:
        RESULTS / "logs" / "train_model/{run}_seed{seed}.log",
    conda:
        "../envs/tvseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=config["resources"]["train_gpus"],
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime_min"],
    params:
        tvseg=TVSEG,
        settings=train_params,
        folder=lambda wildcards: run_folder(wildcards.run, wildcards.seed).folder,
    shell:
        "{params.tvseg} train --run {wildcards.run} --seed {wildcards.seed} --out {params.folder} "
        "--threads {threads} --watch-pid $PPID --config $TVSEG_CONFIG > {log} 2>&1"


rule train_longer_schedule:
    input:
        unpack(inputs_of("train_longer_schedule")),
    output:
        model=longer_run_files(config, "{run}", "{seed}").model,
        log_csv=longer_run_files(config, "{run}", "{seed}").log,
    log:
        RESULTS / "logs" / "train_longer_schedule/{run}_seed{seed}.log",
    conda:
        "../envs/tvseg.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        gpu=config["resources"]["train_gpus"],
        mem_mb=config["resources"]["train_mem_mb"],
        runtime=config["resources"]["train_runtime_min"],
    params:
        tvseg=TVSEG,
        settings=longer_train_params,
        folder=lambda wildcards: longer_run_files(
            config, wildcards.run, wildcards.seed
        ).folder,
    shell:
        "{params.tvseg} train --longer --run {wildcards.run} --seed {wildcards.seed} --out {params.folder} "
        "--threads {threads} --watch-pid $PPID --config $TVSEG_CONFIG > {log} 2>&1"
