"""What every stage of the replication shares: the configuration (``config``: config.yaml and the
profiles, the runs and their files), the settings objects of a run (``settings``), the paper's
facts (``paper``, with its reported numbers in ``reference/``), safe reading and writing of
result files (``files``) and memory measurement (``profiling``). Imports only ``tvseg.layers``."""
