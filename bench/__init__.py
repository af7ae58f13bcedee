"""Benchmarks of autopilot-local beside its peers (see bench/README.md once the harness lands)."""
