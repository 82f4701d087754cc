"""Training and evaluation: the loss and the metrics, each iteration's batch and learning rate
(``batches``), the trainer (``train``), the evaluation under noise (``evaluate``) and post-TV's
lambda chosen on validation with the lambda study (``tuning``). Imports the layers, data, models
and core."""
