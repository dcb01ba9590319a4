"""The problem registry: built-in problems and users' problem files, one lookup."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

from pinnkan.errors import UserError
from pinnkan.problem import Problem, validate


def _problems_in(module) -> list[type[Problem]]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Problem) and obj is not Problem and obj.__module__ == module.__name__
    ]


def builtin_problems() -> dict[str, type[Problem]]:
    """name -> class for every problem in the ``pinnkan.problems`` package."""
    package = importlib.import_module("pinnkan.problems")
    found: dict[str, type[Problem]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"pinnkan.problems.{info.name}")
        for cls in _problems_in(module):
            if cls.name:
                found[cls.name] = cls
    return found


def load_problem_file(path: str | Path) -> type[Problem]:
    """The problem declared in a user's Python file (exactly one Problem subclass)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"problem file {str(path)!r} does not exist")
    mod_name = f"pinnkan_user_problem_{path.stem}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: report what failed, in one line
        raise UserError(f"problem file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from None
    classes = _problems_in(module)
    if len(classes) != 1:
        raise UserError(
            f"problem file {str(path)!r} must define exactly one pinnkan.Problem subclass, found {len(classes)}"
        )
    cls = classes[0]
    missing = validate(cls)
    if missing:
        raise UserError(f"problem {cls.__name__} in {str(path)!r} is incomplete: missing {', '.join(missing)}")
    return cls


def get_problem(name: str) -> type[Problem]:
    """A registered problem by name, or the problem in the file ``name`` (ending in .py)."""
    if name.endswith(".py"):
        return load_problem_file(name)
    problems = builtin_problems()
    if name not in problems:
        raise UserError(f"unknown problem {name!r}; known: {', '.join(problems)} (or a path to a .py file)")
    return problems[name]
