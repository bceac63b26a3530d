"""The evidence-grade archive (issue 12): the Merkle tree of the evidence log, the log itself,
its signed checkpoints, the archive's signing key, whole-archive verification and change
receipts."""
