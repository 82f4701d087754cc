"""The job graph and what the Snakemake workflow and DVC need beyond the steps themselves: every job
of a configuration with its files (``plan``), ``dvc.yaml`` generated from it (``dvc_stages``) with
each stage's code read from the import graph (``code_deps``), and what a workflow run does besides
its jobs (``session``; Snakemake's stale directory lock: ``locks``)."""
