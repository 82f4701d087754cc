rule prepare_dataset:
    input:
        unpack(inputs_of("prepare_dataset")),
    output:
        # update(): Snakemake keeps these while the job runs and restores them if it fails, so a
        # failed prepare leaves the last good prepared data in place (the command itself swaps
        # the whole folder only on success).
        manifest=update(manifest_path(config, "{dataset}")),
        train=update(split_ids_path(config, "{dataset}", "train")),
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


rule bundle_prepared_data:
    input:
        noisy=[job.outputs["ids"] for job in PLAN.of("make_noisy_split")],
    output:
        bundle_dir(config) / "bundle.json",
    log:
        RESULTS / "logs" / "bundle_prepared_data.log",
    conda:
        "../envs/tvseg.yaml"
    params:
        tvseg=TVSEG,
        folder=bundle_dir(config),
    shell:
        "{params.tvseg} bundle --config $TVSEG_CONFIG --out {params.folder} > {log} 2>&1"
