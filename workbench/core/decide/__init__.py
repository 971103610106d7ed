"""Decisions from calibrated probabilities: conformal prediction sets, a risk-controlled decide/refer band, a
decision policy (objective or costs) and a class-prior shift, each fitted on the calibration split."""
