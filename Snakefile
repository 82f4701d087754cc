# tvseg: replication of Jia, Liu & Tai, "A Regularized CNN for Semantic Image Segmentation".
#   snakemake --cores all                      the paper's settings (GPU-days)
#   snakemake --profile profiles/cpu           the CPU-scale reproduction
#   snakemake --profile profiles/quick         a minutes-long smoke run of the whole DAG
#   snakemake --report results/report.html     every table and figure, with captions


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/session.smk"


# Set by session.smk: the resolved configuration every job reads; passed on to cluster jobs.
envvars:
    "TVSEG_CONFIG",


include: "workflow/rules/download.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/noisy_split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        PLAN.final_outputs(),
