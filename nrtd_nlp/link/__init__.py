"""Duplicates, follow-ups and related recommendations: atomic asks, a calibrated pair scorer,
candidate pairs from the vector index, groups with a canonical member and stable ids."""
