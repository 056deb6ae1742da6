"""The model at analysis time: windows, features, ONNX inference, calibration, ensembles (no torch)."""
