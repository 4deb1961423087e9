"""Each reference workflow walked from the notice to its end: the sample company's data."""

from approvals.demo import ART6_ITEMS, CLAUSES, FILINGS, INVESTIGATION, PATHS, Move

__all__ = ["ART6_ITEMS", "CLAUSES", "FILINGS", "INVESTIGATION", "PATHS", "Move"]
