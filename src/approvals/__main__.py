"""Run the command line: python -m approvals."""

from approvals.cli import main

main()
