"""Reliability measurements of issue 19: transport, fuzzing, crashes, load (each a `run`)."""
