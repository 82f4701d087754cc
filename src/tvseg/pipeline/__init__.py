"""What the Snakemake workflow and DVC need beyond the steps themselves: ``dvc.yaml`` generated
from the configuration (``dvc_stages``) and Snakemake's stale directory lock (``locks``)."""
