"""The whole conversion: the pipeline steps, the no-training baseline, the headless journey, the demo and the Qt-free
session model.
"""
