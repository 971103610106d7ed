"""Data: read tables, arrays, image folders and bundled sets; column kinds, labels, splits and the preprocessing that
travels in the export.
"""
