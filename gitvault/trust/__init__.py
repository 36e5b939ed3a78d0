"""The trust checks: what a valid SOPS file cannot say about itself, judged from git history.

One module per check, following docs/security.md:

* :mod:`~gitvault.trust.values` — the identity of an encrypted value, a MAC
  and a timestamp, from their decoded bytes (never their spelling);
* :mod:`~gitvault.trust.policies` — the policy at each commit, the trust
  anchor every judgement is made against;
* :mod:`~gitvault.trust.walk` — which commits are judged, and against what
  (every commit by what it changes against its first parent);
* :mod:`~gitvault.trust.authorship` — who wrote a commit, signature first;
* :mod:`~gitvault.trust.rollback` — an older version (or value) coming back;
* :mod:`~gitvault.trust.substitution` — a data key replaced by someone who
  cannot be shown to have held the old one;
* :mod:`~gitvault.trust.analyzer` — the checks of one change, which run the
  last two;
* :mod:`~gitvault.trust.freshness` — the history walk that feeds it every
  change and reports :class:`~gitvault.trust.model.Finding` values.

Nothing here prints; nothing returns or keeps a decrypted value (values are
reduced to keyed hashes for equality at once).
"""
