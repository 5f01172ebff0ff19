"""Helpers of scripts/bench/bench.py (Intake's benchmark driver)."""
