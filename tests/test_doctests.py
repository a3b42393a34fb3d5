"""Every example in shortcut_lib's docstrings runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import shortcut_lib

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(shortcut_lib.__path__, prefix="shortcut_lib.")
)


@pytest.mark.parametrize("name", ["shortcut_lib", *MODULES])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_library_has_examples_to_run():
    # A parametrisation that found no modules would pass without testing anything.
    attempted = sum(
        doctest.testmod(importlib.import_module(name), verbose=False).attempted
        for name in ("shortcut_lib.comparison", "shortcut_lib.architecture")
    )
    assert len(MODULES) >= 20 and attempted >= 5
