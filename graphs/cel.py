"""Edge conditions: CEL expressions over the upstream node's output, bound as ``result``.

CEL (the Common Expression Language, through ``cel-python``) has no access to
Python: no attributes, no imports, no calls outside its small standard
library, and evaluation always terminates. On top of that, a condition is
checked before it is accepted: names starting with ``_`` (``__import__``,
``result.__class__``) and functions CEL does not define are refused with a
message, and the only free variable is ``result`` (plus the variables that
macros such as ``list.all(x, ...)`` bind).

:func:`compile_condition` parses once and returns a :class:`Condition`: a
callable ``(result) -> bool`` whose ``__flux_source__`` is the CEL text, so
flux records and draws the condition as written.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError
from lark import Token, Tree

logging.getLogger("celpy").setLevel(logging.WARNING)

#: Functions a condition may call: CEL's standard library and macros.
FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "type", "has",
    "all", "exists", "exists_one", "map", "filter",
    "int", "uint", "double", "string", "bool", "bytes", "list", "duration",
    "timestamp", "dyn",
    "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getFullYear",
    "getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds",
})
#: Macros whose first argument names a variable bound inside the second.
BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
#: The variable a condition reads.
VARIABLE = "result"

_env = celpy.Environment()


class ConditionError(ValueError):
    """A condition that does not parse, is refused, or fails on a value."""


class Condition:
    """A compiled CEL condition: ``condition(result)`` is True or False, or raises."""

    def __init__(self, source: str, program: Any, where: str = "") -> None:
        self.__flux_source__ = source
        self.__name__ = "cel_condition"
        self.__qualname__ = "cel_condition"
        self._program = program
        self.where = where

    def __call__(self, result: Any) -> bool:
        try:
            value = self._program.evaluate({VARIABLE: to_cel(result)})
        except CELEvalError as exc:
            raise self._error(_eval_message(exc)) from None
        except Exception as exc:  # celpy raises plain errors for a few type mismatches
            raise self._error(f"{type(exc).__name__}: {exc}") from None
        if isinstance(value, CELEvalError):
            raise self._error(_eval_message(value))
        if not isinstance(value, bool | celtypes.BoolType):
            raise self._error(f"it gave {_cel_type(value)} {value}, not true or false")
        return bool(value)

    def _error(self, why: str) -> ConditionError:
        where = f" on {self.where}" if self.where else ""
        return ConditionError(f"Condition `{self.__flux_source__}`{where} could not be "
                              f"evaluated: {why}")

    def __repr__(self) -> str:
        return f"<Condition {self.__flux_source__!r}>"


def compile_condition(source: str, where: str = "") -> Condition:
    """Parse and check ``source`` once; raise ConditionError with a message for a person.

    ``where`` (e.g. "edge a -> b") is named in evaluation errors.
    """
    text = (source or "").strip()
    if not text:
        raise ConditionError("The condition is empty: write a CEL expression, e.g. "
                             "`result > 0`, or remove it.")
    try:
        tree = _env.compile(text)
    except celpy.CELParseError as exc:
        detail = " ".join(str(exc).split())
        raise ConditionError(f"The condition is not valid CEL: {detail}") from None
    _check(tree)
    return Condition(text, _env.program(tree), where)


def check_condition(source: str) -> str | None:
    """The problem with ``source`` as a message, or None when it compiles."""
    try:
        compile_condition(source)
    except ConditionError as exc:
        return str(exc)
    return None


def to_cel(value: Any) -> Any:
    """A task's output as a CEL value (JSON types; anything else through its JSON form)."""
    try:
        return celpy.json_to_cel(value)
    except (TypeError, ValueError):
        return celpy.json_to_cel(json.loads(json.dumps(value, default=str)))


# checking the parse tree ----------------------------------------------------------------

def _check(tree: Tree) -> None:
    bound = _bound_names(tree)
    for node in tree.iter_subtrees():
        if node.data == "ident":
            name = _token(node.children[0])
            _refuse_private(name)
            if name != VARIABLE and name not in bound:
                raise ConditionError(f"Unknown name '{name}': a condition reads the upstream "
                                     f"output as `{VARIABLE}`.")
        elif node.data == "ident_arg":
            name = _token(node.children[0])
            _refuse_private(name)
            if name not in FUNCTIONS:
                raise ConditionError(f"Unknown function '{name}': a condition may call CEL's "
                                     "functions only (size, has, contains, matches, int...).")
        elif node.data in ("member_dot", "member_dot_arg"):
            name = _token(node.children[1])
            _refuse_private(name)
            if node.data == "member_dot_arg" and name not in FUNCTIONS:
                raise ConditionError(f"Unknown method '{name}': a condition may call CEL's "
                                     "functions only (size, contains, startsWith, all...).")
        elif node.data in ("dot_ident", "dot_ident_arg"):
            _refuse_private(_token(node.children[0]))


def _bound_names(tree: Tree) -> set[str]:
    """Variables bound by macros (``xs.all(x, x > 0)`` binds ``x``)."""
    names: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and _token(node.children[1]) in BINDING_MACROS:
            args = node.children[2] if len(node.children) > 2 else None
            first = args.children[0] if isinstance(args, Tree) and args.children else None
            if isinstance(first, Tree):
                idents = [n for n in first.iter_subtrees() if n.data == "ident"]
                if len(idents) == 1:
                    names.add(_token(idents[0].children[0]))
    return names


def _refuse_private(name: str) -> None:
    if name.startswith("_"):
        raise ConditionError(f"'{name}' is not allowed: names starting with '_' are "
                             "refused in conditions.")


def _token(child: Any) -> str:
    return str(child.value if isinstance(child, Token) else child)


_OPERATORS = {"relation_gt": ">", "relation_ge": ">=", "relation_lt": "<", "relation_le": "<=",
              "relation_eq": "==", "relation_ne": "!=", "relation_in": "in",
              "addition_add": "+", "addition_sub": "-", "multiplication_mul": "*",
              "multiplication_div": "/", "multiplication_mod": "%"}


def _eval_message(exc: CELEvalError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    text = text.split(" (in activation")[0]
    text = re.sub(r"<class 'celpy\.celtypes\.(\w+?)Type'>", lambda m: m.group(1).lower(), text)
    text = re.sub(r"<class 'celpy\.evaluation\.CELEvalError'>", "error", text)
    text = re.sub(r"Token\('RULE', '(\w+)'\)", lambda m: _OPERATORS.get(m.group(1), m.group(1)),
                  text)
    text = text.replace("found no matching overload for", "the operator")
    text = re.sub(r"'? applied to '", " does not apply to ", text)
    text = text.rstrip("'")
    return text if len(text) <= 300 else text[:297] + "..."


def _cel_type(value: Any) -> str:
    return type(value).__name__.removesuffix("Type").lower() or "value"
