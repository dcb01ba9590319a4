"""Built-in problems of the pinnkan registry, one module per PDE family.

Installed as ``pinnkan.problems``. Every :class:`pinnkan.Problem` subclass with a
``name`` defined in a module here is registered.
"""
