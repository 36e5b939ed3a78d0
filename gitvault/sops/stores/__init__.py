"""sops's non-YAML stores: JSON, dotenv and binary (a JSON envelope with one ``data`` key).

Each module reads and writes one format exactly as sops 3.11's store of the
same name does; :mod:`gitvault.sops.formats` chooses between them. The YAML
store stays in :mod:`gitvault.yamlio` and never imports these modules.
"""
