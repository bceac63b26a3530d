"""Evidence-grade archive: what makes a capture and a change provable (keys, signatures, trusted
time): the evidence log and its RFC 9162 tree, signed checkpoints, whole-archive verification,
change receipts, signed WACZ and RFC 3161 time-stamps."""
