"""The plan's jobs run without the workflow, on a machine with PyTorch alone (a GPU box, or the CPU):
the data packed as one checksummed bundle (``bundle``) and unpacked once (``unpack``), which jobs to
run and when (``schedule``), running them (``execute``: ``tvseg gpu-run``) and the cost measured
before a run (``estimate``)."""
