"""Benchmarks: time and peak memory of every phase at 10k, 100k and 1M subjects (``make bench``)."""
