"""Cryptographic primitives, with no I/O: one value (AES-GCM), the MAC, the data-key envelope.

Nothing here is a hand-written cipher: AES-GCM comes from ``cryptography``,
age from ``pyrage``. Randomness can be passed in so test vectors replay.
"""
