"""Regression models for the bundled demos, built from this file; a copy lies beside the checkpoints as models.py."""

import torch
from torch import nn


class DiabetesMLP(nn.Module):
    """Predicts disease progression (a positive number, hence the Softplus) from 10 features."""

    def __init__(self, n_features: int = 10, hidden: int = 64):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2), nn.ReLU())
        self.head = nn.Linear(hidden // 2, 1)
        self.positive = nn.Softplus()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.positive(self.head(self.body(x)))
        return out


class DigitsCNN(nn.Module):
    """Regresses the value (0-9) of an 8x8 digit image."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * channels * 16, 64), nn.ReLU())
        self.regressor = nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.regressor(self.features(x))
        return out
