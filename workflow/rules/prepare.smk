rule prepare_dataset:
    input:
        record=PREPARED / "sources" / "{dataset}.json",
    output:
        manifest=PREPARED / "{dataset}" / "manifest.json",
        train=PREPARED / "{dataset}" / "train" / "ids.json",
    log:
        RESULTS / "logs" / "prepare_dataset/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        settings=lambda wildcards: json.dumps(
            {
                k: v
                for k, v in config["datasets"][wildcards.dataset].items()
                if k in ("size", "limit", "split", "train_count")
            },
            sort_keys=True,
        ),
    shell:
        "{params.tvseg} prepare --dataset {wildcards.dataset} --without-noisy --quiet --config $TVSEG_CONFIG > {log} 2>&1"
