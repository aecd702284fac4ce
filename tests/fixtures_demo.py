"""Demo-workspace fixtures (owned by the demo generator's tests)."""
