"""What happened, provably: the append-only Merkle log, checkpoints and proofs."""
