"""Qt-free engine: load, inspect, convert, data, train, calibrate, evaluate, export, recipe.

Nothing in this package may import Qt or pyqtgraph (checked by import-linter in the test run).
"""
