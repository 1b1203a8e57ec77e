"""Benchmarks: the data-access layer against the raw falkordb client doing the same work.

``make bench`` (``python -m bench``) starts an embedded FalkorDB, runs every
workload on both sides, each repetition on a fresh graph, and prints a table;
``bench/results.json`` keeps the figures. See ``python -m bench --help``.
"""
