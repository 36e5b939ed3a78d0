"""The attack catalogue shares the team fixture (three people, a policy, drivers on PATH)."""

from tests.team.conftest import gitvault_on_path, team

__all__ = ["gitvault_on_path", "team"]
