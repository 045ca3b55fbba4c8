"""The national interface's adapter: one endpoint, its envelope, credentials, and a registry of transactions."""
