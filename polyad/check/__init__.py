"""Checking gradients against oracles that share none of the generated code."""
