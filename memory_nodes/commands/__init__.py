"""The `embodied-memory` command line: `main` wires every area's subcommands together."""
