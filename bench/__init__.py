"""director's benchmarks: `make bench`, or `python -m bench NAME` for one. Ratios from paired runs."""
