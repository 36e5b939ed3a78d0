"""Everything gitvault does with git, behind a narrow surface.

This package is the only place that imports pygit2 (a test enforces it), and
it never subclasses :class:`pygit2.Repository`: callers get plain frozen
dataclasses. Writes go through the real ``git`` CLI so the user's hooks,
identity and commit signing apply exactly as they would for ``git commit``.

Submodules:
    repo      open/discover a repository, resolve revisions, read blobs, state checks
    log       fast history walk over a set of paths, signature states
    commit    stage exactly the given paths and commit them with the git CLI
    trailers  pure text functions for commit-message trailers (no repository access)

This package must never read or write plaintext secrets: it moves encrypted
vault files and commit metadata only. Importing it does not import pygit2;
the submodules that need it import it.
"""
