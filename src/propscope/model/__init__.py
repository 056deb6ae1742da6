"""The neural model: windows, features, ONNX inference; training and export need the train extra."""
