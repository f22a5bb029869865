"""The README's "API at a glance" table against the code it describes."""

import ast
import importlib
import inspect
import pathlib
import re

import pytest

_README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _api_calls():
    """`(dotted name, call text)` of each call in the first column of the table."""
    text = _README.read_text()
    table = text.split("## API at a glance", 1)[1].split("\n## ", 1)[0]
    calls = []
    for row in table.splitlines():
        cells = row.split("|")
        if len(cells) < 3:
            continue
        for code in re.findall(r"`([^`]+)`", cells[1]):
            match = re.fullmatch(r"(keras_rnncr(?:\.\w+)+)\((.*)\)", code)
            if match:
                calls.append((match.group(1), match.group(2)))
    return calls


def _resolve(dotted):
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _parameters(target):
    """Every named parameter of `target`'s constructor, through its classes."""
    functions = (
        [klass.__init__ for klass in target.__mro__]
        if inspect.isclass(target)
        else [target]
    )
    found = {}
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            found.setdefault(parameter.name, parameter.default)
    return found


_CALLS = _api_calls()


def test_the_table_lists_calls():
    assert len(_CALLS) >= 4


@pytest.mark.parametrize("dotted, arguments", _CALLS, ids=[c[0] for c in _CALLS])
def test_arguments_and_defaults_match_the_code(dotted, arguments):
    parameters = _parameters(_resolve(dotted))
    call = ast.parse(f"f({arguments})", mode="eval").body
    for argument in call.args:
        if isinstance(argument, ast.Name):  # a parameter named by the table
            assert argument.id in parameters, (dotted, argument.id)
    for keyword in call.keywords:
        if keyword.arg is None:  # **keras_args
            continue
        assert keyword.arg in parameters, (dotted, keyword.arg)
        if isinstance(keyword.value, ast.Constant) and keyword.value.value is not ...:
            assert parameters[keyword.arg] == keyword.value.value, (dotted, keyword.arg)
