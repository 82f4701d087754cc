"""The job graph and what the Snakemake workflow and DVC need beyond the steps themselves: every job
of a configuration with its files (``plan``), ``dvc.yaml`` generated from it (``dvc_stages``), and
what a workflow run does besides its jobs (``session``; Snakemake's stale directory lock: ``locks``)."""
