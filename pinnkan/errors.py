"""Errors a user can cause: reported as one line on stderr, exit code 2."""


class UserError(ValueError):
    """A mistake in the user's command, configuration, script or problem file (one line says which)."""
