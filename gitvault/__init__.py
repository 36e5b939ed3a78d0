"""gitvault: a team's secrets in its own git repository.

Vault files are SOPS v3 YAML files with age recipients; git history is the audit
trail. The stable programmatic surface is :mod:`gitvault.api`; every other module
may change between releases.
"""

__version__ = "0.1.0"
