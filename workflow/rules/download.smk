rule download_dataset:
    output:
        record=PREPARED / "sources" / "{dataset}.json",
    log:
        RESULTS / "logs" / "download_dataset/{dataset}.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        config=CONFIG_FILE,
        source=lambda wildcards: config["mirror"] or "download",
    shell:
        "{params.tvseg} fetch --dataset {wildcards.dataset} --record {output.record} --config {params.config} > {log} 2>&1"
