"""``gitvault agent``: follow a branch, apply verified updates, render outputs, reload services.

One cycle (:mod:`gitvault.agent.cycle`): fetch the remote branch into the
agent's own clone (:mod:`~gitvault.agent.follow`), accept the new tip only
when it fast-forwards the applied commit and passes ``verify`` and the trust
checks (:mod:`~gitvault.agent.gate`), decrypt what the outputs name
(:mod:`~gitvault.agent.secrets`), render (:mod:`~gitvault.agent.render`),
switch changed outputs atomically, group by group
(:mod:`~gitvault.agent.outputs`), notify and prove with a health command
(:mod:`~gitvault.agent.notify`), and report (:mod:`~gitvault.agent.status`).
The long-running loop, signals and the HTTP trigger live in
:mod:`~gitvault.agent.daemon` and :mod:`~gitvault.agent.trigger`.

Nothing in this package prints or logs a secret value: logs, the status file
and errors name outputs, files, variable names and commits only.
"""
