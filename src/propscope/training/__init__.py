"""Training: the corpus split, the torch networks and their loop, export to ONNX, the recipe that makes
every choice out of fold, evaluation and model cards. Needs the ``train`` extra; nothing at analysis time
imports it."""
