"""``gitvault migrate``: hard-coded secrets of many repositories into the vault, and out of history.

One step per module, around a value-free plan file (:mod:`.plan`): :mod:`.find`
(scan work trees and every ref), :mod:`.vaultwrite` (import, marked exposed),
:mod:`.code` (lines to change, opt-in config fixes), :mod:`.rewrite` (mirror
clones, git-filter-repo, re-scan) and :mod:`.status`; :mod:`.repos` reads the
repositories. docs/migration.md is the user's guide.
"""
