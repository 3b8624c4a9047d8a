"""Background jobs: a config in, JSON-lines progress events and a text log out, a stop file to stop."""
