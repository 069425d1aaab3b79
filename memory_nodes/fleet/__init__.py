"""The fleet: several robots sharing one home's memory through a PostgreSQL server.

`server` runs a private PostgreSQL server in a directory (tests, the fleet demo, the fleet
benchmark and anyone who wants one without administering a database).
"""
