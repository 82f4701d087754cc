"""The GPU box's path, for a machine with PyTorch alone: the data packed as one checksummed bundle
(``bundle``), every job run without the workflow (``run``: ``tvseg gpu-run``) and the cost
measured before a run (``estimate``)."""
