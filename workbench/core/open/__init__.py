"""Open a model: read a checkpoint or program of any common shape, rebuild it as an editable module, and inspect its
layers.
"""
