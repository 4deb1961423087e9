"""A reference intranet host: one approvals application behind a reverse proxy, over JSON."""
