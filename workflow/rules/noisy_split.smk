rule make_noisy_split:
    input:
        unpack(inputs_of("make_noisy_split")),
    output:
        ids=update(split_ids_path(config, "{dataset}", "train_noisy")),  # kept if the job fails
    log:
        RESULTS / "logs" / "make_noisy_split/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        settings=lambda wildcards: json.dumps(
            {
                "noisy_train": config["datasets"][wildcards.dataset]["noisy_train"],
                "noise": config["noise"],
            },
            sort_keys=True,
        ),
    shell:
        "{params.tvseg} noisy-split --dataset {wildcards.dataset} --config $TVSEG_CONFIG > {log} 2>&1"
