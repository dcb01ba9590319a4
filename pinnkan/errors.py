"""Errors a user can cause: reported as one line on stderr, exit code 2."""


class UserError(Exception):
    """A mistake in the user's command, configuration or problem file."""
