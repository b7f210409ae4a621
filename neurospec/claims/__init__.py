"""Assertion helpers (:mod:`neurospec.claims.expect`), verdicts and failure messages."""
