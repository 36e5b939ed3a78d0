"""``gitvault review``: what a range of commits changes in the vault, without plaintext.

``collect`` builds a :class:`~gitvault.review.model.Review` from git alone
(identities only add MAC/schema checks and value-based re-key detection);
``render_markdown`` and ``render_json`` turn it into a pull-request comment
or the versioned ``gitvault.review/v1`` JSON. Nothing here prints, and no
value ever reaches a model, a message or a report.
"""
