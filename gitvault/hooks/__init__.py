"""Git hooks: install/uninstall/status (:mod:`.install`) and what each hook checks (:mod:`.run`).

Public entry points for the rest of gitvault:

- ``gitvault.hooks.install.install_hooks(repo_root, which=("pre-commit",)) -> list[str]``
  (``gitvault init`` calls it), ``uninstall_hooks``, ``hook_status``;
- ``gitvault.hooks.run.pre_commit(root)``, ``pre_push(root, remote, lines)``,
  ``pre_receive(git_dir, lines)`` return a ``HookReport``.

This package never prints and never imports click.
"""
