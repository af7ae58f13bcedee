"""Parity mode: a real Autopilot job beside a local run on the same data."""
