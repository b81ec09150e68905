"""Deterministic sample data for the demo and the tests."""
