"""PostgreSQL server fixtures (owned by the sources tests)."""
