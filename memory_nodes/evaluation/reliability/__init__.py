"""Reliability of the stack under load, faults and bad input (`make bench-reliability`)."""
