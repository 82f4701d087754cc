"""Training and evaluation: the loss and the metrics, the trainer (``train``), the evaluation under
noise (``evaluate``), the configuration turned into each step's settings (``experiment``) and
post-TV's lambda chosen on validation (``tuning``). Imports the layers, data, models and core."""
