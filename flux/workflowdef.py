"""``@workflow``: an async function over an :class:`ExecutionContext`, run durably."""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from flux import config
from flux.context import ExecutionContext
from flux.errors import InvalidInputError
from flux.output_storage import OutputStorage
from flux.registry import registry, resolvers
from flux.schedule import check_start_options
from flux.store import ExecutionRecord, Store

if TYPE_CHECKING:
    from flux.engine import Engine

__all__ = ["Workflow", "registry", "resolvers", "workflow"]

_UNSET = object()

_OPTION_NAMES = ("name", "secret_requests", "output_storage", "durable",
                 "recover_on_worker_loss", "max_recovery_attempts", "description",
                 "input_schema", "schedule", "concurrency", "timeout")


class Workflow:
    """A workflow. Create with ``@workflow`` or ``@workflow.with_options(...)``."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        secret_requests: Sequence[str] = (),
        output_storage: OutputStorage | None = None,
        durable: bool = True,
        recover_on_worker_loss: bool | None = None,
        max_recovery_attempts: int | None = None,
        description: str | None = None,
        input_schema: dict[str, Any] | None = None,
        schedule: Any = None,
        concurrency: Any = None,
        timeout: timedelta | float | None = None,
        register: bool = True,
    ) -> None:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(
                f"@workflow needs an 'async def' function taking an ExecutionContext; "
                f"{getattr(func, '__qualname__', func)!r} is not async.")
        self.func = func
        self.name = name or func.__name__
        if isinstance(timeout, timedelta):
            timeout = timeout.total_seconds()
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"Workflow '{self.name}': timeout must be a number of seconds "
                             f"(or a timedelta) above 0, got {timeout!r}")
        #: The whole run's time limit in seconds, across sleeps and pauses (None: none).
        self.timeout = float(timeout) if timeout is not None else None
        self.secret_requests = tuple(secret_requests)
        self.output_storage = output_storage
        self.durable = durable
        self._recover_on_worker_loss = recover_on_worker_loss
        self._max_recovery_attempts = max_recovery_attempts
        self.description = description or inspect.getdoc(func) or ""
        self._input_schema = input_schema
        self._derived_schema: Any = _UNSET
        self._validator: Any = None
        # When it starts by itself and how many may run at once (flux/schedule.py).
        self.schedule, self.concurrency = check_start_options(schedule, concurrency)
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", self.name)
        self.__module__ = getattr(func, "__module__", __name__)
        self.__wrapped__ = func
        if register:
            registry[self.name] = self

    # options resolved at run time (decorator > configure() > runtime > built-in)
    @property
    def recover_on_worker_loss(self) -> bool:
        value = config.option("recover_on_worker_loss", self._recover_on_worker_loss)
        return self.durable if value is None else bool(value)

    @property
    def max_recovery_attempts(self) -> int:
        return int(config.option("max_recovery_attempts", self._max_recovery_attempts))

    # input ------------------------------------------------------------------
    @property
    def input_type(self) -> Any:
        """The ``T`` of ``ctx: ExecutionContext[T]``, when annotated."""
        try:
            hints = typing.get_type_hints(self.func)
        except Exception:
            return None
        params = list(inspect.signature(self.func).parameters)
        hint = hints.get(params[0]) if params else None
        args = typing.get_args(hint)
        if typing.get_origin(hint) is ExecutionContext and args:
            return args[0]
        return None

    def input_schema(self) -> dict[str, Any] | None:
        """A JSON schema for the input: the explicit one, or derived from the annotation."""
        if self._input_schema is not None:
            return self._input_schema
        if self._derived_schema is _UNSET:
            self._derived_schema = self._derive_schema()
        return cast("dict[str, Any] | None", self._derived_schema)

    def _derive_schema(self) -> dict[str, Any] | None:
        kind = self.input_type
        if kind is None or kind is Any:
            return None
        try:
            from pydantic import TypeAdapter

            return TypeAdapter(kind).json_schema()
        except Exception:
            return None

    def validate_input(self, value: Any) -> None:
        """Raise InvalidInputError when ``value`` fails the input schema."""
        schema = self.input_schema()
        if not schema:
            return
        plain = _json_form(value)
        if plain is _UNSET:
            return  # not storable: create() reports that, naming the type
        if self._validator is None or self._validator.schema is not schema:
            import jsonschema

            self._validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(self._validator.iter_errors(plain), key=lambda e: list(e.path))
        if errors:
            raise InvalidInputError(
                f"Input for workflow '{self.name}' does not match its schema: "
                + "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
                            for e in errors),
                errors=[{"path": list(e.path), "message": e.message} for e in errors])

    # running (standalone) ----------------------------------------------------
    def _engine(self, store: Store | None, **kwargs: Any) -> Engine:
        from flux.engine import Engine

        return Engine(store, **kwargs)

    async def run(self, input: Any = None, *, execution_id: str | None = None,
                  store: Store | None = None, actor: str | None = None) -> ExecutionContext[Any]:
        """Start a new execution with ``input``, or continue ``execution_id``.

        Continuing a paused execution passes its pause (input None); a failed
        one runs again from its last successful state; a finished one is
        returned as it is.
        """
        engine = self._engine(store)
        if execution_id is not None:
            return await engine.run(execution_id, workflow=self, actor=actor)
        return await engine.start(self, input, actor=actor)

    async def resume(self, execution_id: str, input: Any = None, *, pause: str | None = None,
                     store: Store | None = None, actor: str | None = None,
                     comment: str | None = None) -> ExecutionContext[Any]:
        """Answer the pending pause with ``input`` and continue the execution."""
        engine = self._engine(store)
        engine.request_resume(execution_id, input, pause=pause, actor=actor, comment=comment)
        return await engine.run(execution_id, workflow=self, actor=actor)

    async def reject(self, execution_id: str, *, pause: str | None = None,
                     comment: str | None = None, store: Store | None = None,
                     actor: str | None = None) -> ExecutionContext[Any]:
        """Reject the pending pause: ``await pause(...)`` raises RejectedError."""
        engine = self._engine(store)
        engine.request_resume(execution_id, None, pause=pause, approved=False, actor=actor,
                              comment=comment)
        return await engine.run(execution_id, workflow=self, actor=actor)

    def cancel(self, execution_id: str, *, store: Store | None = None,
               actor: str | None = None) -> ExecutionRecord:
        """Cancel an execution (a running one stops within about a second)."""
        return self._engine(store).cancel(execution_id, actor=actor)

    def get(self, execution_id: str, *, store: Store | None = None) -> ExecutionContext[Any]:
        """The execution as stored now."""
        return self._engine(store).context(execution_id, self)

    def run_sync(self, input: Any = None, **kwargs: Any) -> ExecutionContext[Any]:
        """``run`` for plain scripts (no event loop needed)."""
        return asyncio.run(self.run(input, **kwargs))

    def resume_sync(self, execution_id: str, input: Any = None, **kwargs: Any
                    ) -> ExecutionContext[Any]:
        return asyncio.run(self.resume(execution_id, input, **kwargs))

    def with_options(self, **options: Any) -> Workflow:
        current: dict[str, Any] = {"name": self.name, "secret_requests": self.secret_requests,
                   "output_storage": self.output_storage, "durable": self.durable,
                   "recover_on_worker_loss": self._recover_on_worker_loss,
                   "max_recovery_attempts": self._max_recovery_attempts,
                   "description": self.description, "input_schema": self._input_schema,
                   "schedule": self.schedule, "concurrency": self.concurrency,
                   "timeout": self.timeout}
        current.update(options)
        return Workflow(self.func, **current)

    def __repr__(self) -> str:
        return f"<Workflow {self.name}>"


def _json_form(value: Any) -> Any:
    """``value`` as JSON spells it, the form a JSON schema describes: a tuple or set is
    an array, a datetime, UUID or Decimal a string, a dataclass or model an object, a
    dict's int keys strings (pydantic's JSON mode, the rules its derived schemas follow).
    Not flux's stored form: a tagged ``{"$t": "tuple"}`` would fail the schema of the
    very type it encodes. ``_UNSET`` when the value has no JSON form."""
    if type(value) in (str, int, float, bool, type(None)):
        return value
    try:
        from pydantic_core import to_jsonable_python
    except ImportError:  # pragma: no cover - pydantic comes with django-ninja
        from flux.serialization import encode

        try:
            return encode(value)
        except Exception:
            return _UNSET
    try:
        return to_jsonable_python(value)
    except Exception:
        return _UNSET


class _WorkflowDecorator:
    """``@workflow``, ``@workflow(...)`` and ``@workflow.with_options(...)``."""

    def __call__(self, func: Callable[..., Any] | None = None, **options: Any) -> Any:
        if func is None:
            return self.with_options(**options)
        return Workflow(func, **options)

    def with_options(self, **options: Any) -> Callable[[Callable[..., Any]], Workflow]:
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise TypeError(f"Unknown workflow option(s): {', '.join(sorted(unknown))}. "
                            f"Known: {', '.join(_OPTION_NAMES)}")
        return lambda func: Workflow(func, **options)


workflow = _WorkflowDecorator()
