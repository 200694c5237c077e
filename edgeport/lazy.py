"""Packages whose public names load on first use (PEP 562): importing one module of a package, as the
command line does to build its parser, then imports nothing else of it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types


def lazy_names(package: str, where: dict[str, str]) -> None:
    """Make package's public names (where: {name: the module defining it}) load when first read; any other
    name is tried as a submodule.

    A public name may be its module's own name (runtime.evaluate, runtime.score): the import system binds
    the submodule to the package when it is imported, and the package then keeps the function instead.
    """
    module = sys.modules[package]

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name: str):
            if name in where:
                value = getattr(importlib.import_module(where[name]), name)
                types.ModuleType.__setattr__(self, name, value)
                return value
            if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")

        def __setattr__(self, name: str, value) -> None:
            if isinstance(value, types.ModuleType) and where.get(name) == value.__name__ == f"{package}.{name}":
                value = getattr(value, name)  # the submodule runtime.evaluate was imported: keep the function
            types.ModuleType.__setattr__(self, name, value)

        def __dir__(self) -> list[str]:
            return sorted(set(vars(self)) | set(where))

    module.__class__ = LazyPackage
