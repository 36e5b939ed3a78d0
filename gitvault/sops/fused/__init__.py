"""One fused pass over the canonical layout for the 10,000-key cases (issue 15).

``decrypt`` (YAML to YAML), ``set`` of an existing string leaf and ``encrypt``
of a plaintext YAML file in the simple block-mapping subset each read the file
line by line and write the result line by line, with no document tree in
between, using the same codec, key-path additional data, MAC and emitter
formatting functions as the general path. Each accepts only what it fully
understands and returns None for anything else, and for every integrity
problem: the caller then takes the general path, which gives the same result
or raises its usual error. A result is returned only after the MAC verified.
"""

from __future__ import annotations
