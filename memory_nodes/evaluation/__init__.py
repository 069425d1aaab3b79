"""Running task suites on the stack and measuring it (KARMA's experiment, on our code)."""
