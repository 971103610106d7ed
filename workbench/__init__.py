"""Conversion Workbench: turn a trained PyTorch regression model into a calibrated classifier."""

__version__ = "0.1.0"
