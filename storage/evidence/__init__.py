"""Evidence-grade archive: what makes a capture and a change provable (keys, signatures, trusted
time)."""
