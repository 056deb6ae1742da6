"""One exception family for every problem the user can fix, so interfaces can report it cleanly."""


class PropScopeError(Exception):
    """A problem with the user's input or set-up, with a message meant for them."""


class InputError(PropScopeError):
    """Input that cannot be read or parsed; the message names the file and line where there is one."""


class ModelError(PropScopeError):
    """A model that is missing or cannot be loaded."""
