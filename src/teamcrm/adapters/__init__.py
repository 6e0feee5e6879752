"""Storage adapters: in-memory, SQLite and (optionally) PostgreSQL."""
