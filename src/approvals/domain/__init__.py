"""The domain: cases, the roster, workflow rules and the checks on them. No infrastructure here."""
