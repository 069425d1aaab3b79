"""Reliability under load, faults and bad input: transport, fuzz, crash, load (each a `run`).

`bench/reliability.py` (`make bench-reliability`) runs them and writes docs/reliability.md.
"""
