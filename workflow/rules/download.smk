rule download_dataset:
    output:
        record=source_record(config, "{dataset}"),
    log:
        RESULTS / "logs" / "download_dataset/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        source=lambda wildcards: config["mirror"] or "download",
    shell:
        "{params.tvseg} fetch --dataset {wildcards.dataset} --record {output.record} --config $TVSEG_CONFIG > {log} 2>&1"
