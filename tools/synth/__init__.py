"""Synthetic test data: ID cards, their virtual photographs and attack variants."""
