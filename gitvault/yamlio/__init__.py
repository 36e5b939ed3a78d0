"""The only package that reads or writes YAML text.

``load_documents`` parses with go-yaml v3 typing and sops's comment placement;
``emit_documents`` writes sops's exact layout; ``dump_plain`` writes plain
Python data in the same layout (for export formats and reports).
"""

from gitvault.yamlio.emit import dump_plain, emit_documents, format_scalar
from gitvault.yamlio.parse import load_documents

__all__ = ["dump_plain", "emit_documents", "format_scalar", "load_documents"]
