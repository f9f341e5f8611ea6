"""Speed comparisons, run by hand (``python -m benchmarks``); never imported by the tests or CI."""
