"""Runs a strategy through time under the market's rules and measures the result."""
