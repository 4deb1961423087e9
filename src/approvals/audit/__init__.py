"""The audit trail: tamper evidence, checkpoints, verification."""
