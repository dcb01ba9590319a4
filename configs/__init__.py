"""Shipped TOML configurations (installed as pinnkan.configs)."""
