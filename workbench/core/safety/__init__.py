"""What is read before anything runs and where writes may go: trust, pickle reading, snapshots, size bounds, atomic and
journalled writes.
"""
