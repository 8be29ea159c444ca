"""Benchmarks for issue 7: step throughput, dashboard scaling, latency, scale-out and memory.

Run `python -m bench --help`; see bench/README.md. Ratios are printed here, never asserted in tests.
"""
