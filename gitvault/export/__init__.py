"""Deploy-time decryption outputs: variables, formats, ``exec``, masks, read audit.

Everything here works on *plain decrypted trees* (dict/list/str/int/float/bool/
None) handed in by the caller; nothing in this package decrypts, reads keys or
touches git. The pieces:

    model     the naming rule (``db.password`` -> ``DB_PASSWORD``), collisions,
              ``NAME_PREVIOUS`` for a rotation's grace period
    base      the :class:`~gitvault.export.base.Format` protocol and the format registry
    env, dotenv, jsonfmt, yamlfmt, k8s, github   one module per output format
    exec      run a child with the values in its environment (and optionally files)
    github    ``::add-mask::`` commands and the ``$GITHUB_ENV`` format
    audit     one JSON line per file read, never a value

This package must never print, log or put a value into an exception message;
it never imports click or PyYAML (YAML goes through :mod:`gitvault.yamlio`).
Importing it imports nothing else: the CLI loads only the modules it uses.
"""
