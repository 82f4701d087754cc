"""What every stage of the replication shares: the configuration (``config``: config.yaml and the
profiles, validated), the runs it asks for (``runs``), where every file lives (``layout``), the
settings objects of a run (``settings``) built once from the configuration (``from_config``), the
device resolved (``device``), the paper's facts (``paper``, with its reported numbers in
``reference/``), safe reading and writing of result files (``safe_io``), where a run ran
(``provenance``) and memory measurement (``profiling``). Imports only ``tvseg.layers`` and
``tvseg.datasets``; all but ``device`` load without torch."""
