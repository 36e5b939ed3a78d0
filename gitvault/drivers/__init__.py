"""git's diff (textconv) and merge drivers for vault files.

``gitvault init`` configures them in the repository's local git config, and
``.gitattributes`` routes vault paths to them (``diff=gitvault merge=gitvault``)::

    diff.gitvault.textconv = gitvault textconv
    merge.gitvault.name    = gitvault per-key merge
    merge.gitvault.driver  = gitvault merge-driver %O %A %B %P

The seams, one module each:

- :mod:`~gitvault.drivers.textconv` — decrypted YAML for ``git diff`` (key holders only);
- :mod:`~gitvault.drivers.treemerge` — the per-key three-way merge of plaintext models (pure);
- :mod:`~gitvault.drivers.merge` — the merge driver's core: sides checked against
  committed policy, decrypted, merged, re-encrypted to the policy's readers;
- :mod:`~gitvault.drivers.committed` — the policy as committed at ``HEAD`` and at
  the commit being merged (the only git access of the merge);
- :mod:`~gitvault.drivers.records` — conflict records (key names only) in
  ``$GIT_DIR/gitvault-conflicts/``.

Nothing here prints; the CLI (``gitvault/cli/drivers.py``) writes files and
messages. Plaintext never touches the work tree and no value reaches a message.

Import what you need from those modules: this package imports nothing, so
``git diff``'s textconv (run once per changed file) does not pay for the
merge machinery.
"""
