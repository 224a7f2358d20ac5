"""Errors that explain themselves: bad input for one shot, reported as is (no traceback location)."""


class ShotError(Exception):
    """Something about one shot's input makes it impossible to edit; the message names the file."""
