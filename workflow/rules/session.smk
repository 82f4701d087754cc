# What a run of the workflow does besides its jobs (tvseg.pipeline.session): the resolved
# configuration published for the jobs (TVSEG_CONFIG), and Snakemake's lock made safe against a
# killed run (tvseg.pipeline.locks).

from tvseg.pipeline.locks import forget_owner, record_owner
from tvseg.pipeline.session import publish_config, release_locks_of_dead_runs

STATE_DIR = Path(".snakemake")

publish_config(config, STATE_DIR)

# Only the main process: cluster jobs parse this file too while their workflow runs.
if workflow.is_main_process:
    release_locks_of_dead_runs(STATE_DIR)


onstart:
    record_owner(
        STATE_DIR, list(getattr(workflow.persistence, "_lockfile", {}).values())
    )


onsuccess:
    forget_owner(STATE_DIR)


onerror:
    forget_owner(STATE_DIR)
