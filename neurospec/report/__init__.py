"""Rendering evidence: HTML cards and pages, markdown summaries (no torch)."""
