"""Where tasks run: the production operators, unless the environment plugs in a runtime.

An environment's `RUNTIME` setting names a module whose `TWINS` maps production operator
classes to the classes that replace them. environments/local.json (make run-local) names

    {{ cookiecutter.package }}.local.twins

which runs every task on this machine. The libraries ask here for each class they build a task
from and never name a runtime themselves: a runtime depends on them, not the other way round."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from {{ cookiecutter.package }}.settings import Settings

T = TypeVar("T", bound=type)


def operator(production: T, settings: Settings) -> T:
    """The class that builds a task: `production`, or its twin in the environment's runtime."""
    return twins(settings.RUNTIME).get(production, production)


@cache
def twins(runtime: str | None) -> Mapping[type, type]:
    return importlib.import_module(runtime).TWINS if runtime else {}
