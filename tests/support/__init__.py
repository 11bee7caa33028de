"""Test support shared by the suites and the benchmark (no production code depends on it)."""
