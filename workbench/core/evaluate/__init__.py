"""Calibrate and evaluate: calibration maps and their checks, metrics with intervals, comparison of runs, the HTML
report.
"""
