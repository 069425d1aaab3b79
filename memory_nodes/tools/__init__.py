"""Offline tools that may use the simulator (never imported by the runtime stack)."""
