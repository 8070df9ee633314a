"""``@task``: a unit of work whose result is recorded once and replayed after.

Calling a task returns an awaitable. Its id is fixed at call time (so the
order of calls, not of their scheduling, decides it): the task's name and a
hash of its normalized arguments and parent task, plus ``~N`` for the N-th
repeat of an identical call under the same parent. ``f(1)`` and ``f(x=1)``
are the same call. A name may be a template of the task's parameters:
``@task.with_options(name="sum_fibo_{iteration}")`` records ``sum_fibo_0``,
``sum_fibo_1``... (formatted with each call's arguments, defaults included).

Inside a workflow the task runs with its options: a timeout per attempt
(sync functions run in a worker thread, so they time out too; the thread is
abandoned and finishes on its own, its result discarded), retries with
exponential backoff, then on final failure the rollback (clean-up) and the
fallback (whose value becomes the result), in that order, each called with the
task's arguments as passed at the call site. Outside a workflow
a task is still callable and applies the same options, recording nothing.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import string
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from flux.batch import parallel
from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionError, ExecutionTimeoutError, RetryError, SerializationError
from flux.output_storage import OutputStorage
from flux.run import Run, current_node, current_run, current_task, mark_failed
from flux.secrets import scrub
from flux.serialization import decode, decode_error, encode, encode_error
from flux.store import MISSING

#: How retry delays are waited (a seam for tests; the real thing is asyncio.sleep).
retry_sleep = asyncio.sleep

#: Every task defined in this process, by name (the API's task catalogue).
task_registry: dict[str, Task] = {}

_OPTION_NAMES = ("name", "retry_max_attempts", "retry_delay", "retry_backoff", "timeout",
                 "fallback", "rollback", "secret_requests", "output_storage", "description",
                 "cache", "durable")


class Task:
    """A function wrapped as a task. Create with ``@task`` or ``@task.with_options``."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        retry_max_attempts: int = 0,
        retry_delay: float = 1,
        retry_backoff: float = 2,
        timeout: float | None = None,
        fallback: Callable[..., Any] | None = None,
        rollback: Callable[..., Any] | None = None,
        secret_requests: Sequence[str] = (),
        output_storage: OutputStorage | None = None,
        description: str | None = None,
        cache: bool = False,
        durable: bool = False,
        register: bool = True,
    ) -> None:
        if isinstance(func, Task):
            func = func.func
        if not callable(func):
            raise TypeError(f"@task needs a function, got {func!r}")
        if retry_max_attempts < 0 or retry_delay < 0 or retry_backoff <= 0:
            raise ValueError(
                f"Task '{name or func.__name__}': retry_max_attempts and retry_delay must be "
                ">= 0 and retry_backoff > 0")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"Task '{name or func.__name__}': timeout must be > 0 seconds")
        self.func = func
        self.name = name or func.__name__
        self.retry_max_attempts = int(retry_max_attempts)
        self.retry_delay = retry_delay
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self.fallback = fallback
        self.rollback = rollback
        self.secret_requests = tuple(secret_requests)
        self.output_storage = output_storage
        self.description = description or inspect.getdoc(func) or ""
        #: Memoise results by task name and arguments, across executions, in the store.
        self.cache = bool(cache)
        #: Commit the task's end before the workflow goes on (else it may be committed
        #: with later tasks' events: see "Group commit" in docs/workflows.md).
        self.durable = bool(durable)
        self.is_async = inspect.iscoroutinefunction(func)
        self.signature = inspect.signature(func)
        self.accepts_secrets = "secrets" in self.signature.parameters
        params = self.signature.parameters.values()
        #: The parameters' names when every one is a plain required one (no default,
        #: no *args/**kwargs, no secrets): a call with that many positional arguments
        #: binds them by position without Signature.bind (most task calls).
        self._plain_params: tuple[str, ...] | None = tuple(p.name for p in params) if all(
            p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in params
        ) and not self.accepts_secrets else None
        self._name_is_template = "{" in self.name or "}" in self.name
        if self._name_is_template:
            _check_name_template(self.name, self.signature)
        functools.update_wrapper(self, func)
        if register:
            task_registry[self.name] = self

    def options(self) -> dict[str, Any]:
        return {"retry_max_attempts": self.retry_max_attempts, "retry_delay": self.retry_delay,
                "retry_backoff": self.retry_backoff, "timeout": self.timeout,
                "fallback": _callable_name(self.fallback),
                "rollback": _callable_name(self.rollback),
                "secret_requests": list(self.secret_requests), "cache": self.cache,
                "durable": self.durable}

    def with_options(self, **options: Any) -> Task:
        """A copy of this task with some options changed (same function)."""
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise TypeError(f"Unknown task option(s): {', '.join(sorted(unknown))}")
        current = {k: getattr(self, k) for k in _OPTION_NAMES}
        current.update(options)
        return Task(self.func, register=False, **current)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call_kwargs = kwargs
        plain = self._plain_params
        if plain is not None and not kwargs and len(args) == len(plain):
            bound = inspect.BoundArguments(self.signature, dict(zip(plain, args, strict=True)))
        else:
            if self.accepts_secrets and "secrets" not in kwargs:
                kwargs = {**kwargs, "secrets": {}}  # filled in when the task runs
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"Task '{self.name}' called with bad arguments: "
                                f"{exc}") from None
            bound.apply_defaults()
        name = self._call_name(bound) if self._name_is_template else self.name
        run = current_run.get()
        call = _Call(run, name, bound, args, call_kwargs)
        if run is None:
            return self._execute(call)
        arguments = bound.arguments
        if self.accepts_secrets:
            arguments = {k: v for k, v in arguments.items() if k != "secrets"}
        call.encoded = encode(arguments, f"the arguments of task '{name}'")
        call.parent = current_task.get()
        call.node = current_node.get()
        call.id = run.task_id(name, call.encoded, call.parent, call.node)
        return self._execute(call)

    def _call_name(self, bound: inspect.BoundArguments) -> str:
        """The name template formatted with the call's arguments (``"sum_{n}"`` -> ``sum_3``)."""
        return self.name.format(**bound.arguments)

    def map(self, items: Iterable[Any], *, max_concurrent: int | None = None,
            raise_on_error: bool = True) -> Any:
        """Run the task once per item, concurrently; results in the items' order.

        As :func:`flux.tasks.parallel`: the first failure or pause cancels the
        calls still running; ``max_concurrent=N`` runs at most N at once;
        ``raise_on_error=False`` puts None in a failed item's slot.
        """
        return parallel(*(self(item) for item in items), max_concurrent=max_concurrent,
                        raise_on_error=raise_on_error)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    # execution -------------------------------------------------------------
    async def _execute(self, call: _Call) -> Any:
        run = call.run
        rec = None
        if run is not None:
            rec = run.index.tasks.get(call.id)
            if rec is not None and rec.done:
                return run.replayed(rec, self.output_storage)
            if rec is None:
                await run.check_divergence(call.parent, call.id)
        token = current_task.set(call.id) if run is not None else None
        node_token = current_node.set(None)
        try:
            return await self._attempts(call, rec)
        finally:
            current_node.reset(node_token)
            if token is not None:
                current_task.reset(token)

    def _record(self, call: _Call, type: T, value: Any = None, attempt: int = 0,
                durable: bool = False) -> None:
        if call.run is not None:
            call.run.emit(type, call.name, call.id, value, call.parent, attempt, durable)

    async def _attempts(self, call: _Call, rec: Any) -> Any:
        run = call.run
        if run is not None and (rec is None or not rec.started):
            value: dict[str, Any] = {"input": call.encoded}
            if call.node is not None:
                value["node"] = call.node
            run.emit(T.TASK_STARTED, call.name, call.id, value, call.parent)
        secrets: dict[str, str] = {}
        if self.secret_requests:
            try:
                secrets = (run.secrets(list(self.secret_requests)) if run is not None else
                           _default_secrets(self.secret_requests))
            except ExecutionError as exc:
                return await self._give_up(call, secrets, exc, 1)
            if self.accepts_secrets:
                call.bound.arguments["secrets"] = secrets
        max_attempts = 1 + self.retry_max_attempts
        attempt = rec.attempt if rec is not None else 1
        if rec is not None and rec.exhausted:
            exc = decode_error(rec.last_error) if rec.last_error else ExecutionError()
            return await self._give_up(call, secrets, exc, attempt)
        if rec is not None and attempt > 1 and rec.attempt_started_at is not None:
            due = rec.attempt_started_at.timestamp() + rec.retry_delay
            wait = due - datetime.now(UTC).timestamp()
            if wait > 0:
                await retry_sleep(wait)
        cache_key = self._cache_key(call) if self.cache and run is not None else None
        while True:
            try:
                result = MISSING if cache_key is None else self._cached(call, cache_key)
                if result is MISSING:
                    result = await self._invoke(call)
                    if cache_key is not None:
                        self._remember(call, cache_key, result)
                if run is not None:
                    output = run.encode_output(self.output_storage, f"{run.record.id}/{call.id}",
                                               result, f"the result of task '{call.name}'")
            except Exception as exc:  # BaseException signals (cancel, suspend) pass through
                error = encode_error(exc) if run is not None else None
                final = attempt >= max_attempts
                if attempt > 1:
                    self._record(call, T.TASK_RETRY_FAILED,
                                 {"error": error, "final": final,
                                  **self._retry_keys(attempt)}, attempt)
                if final:
                    return await self._give_up(call, secrets, exc, attempt)
                attempt += 1
                delay = self._retry_delay(attempt)
                self._record(call, T.TASK_RETRY_STARTED,
                             {"delay": delay, "error": error, **self._retry_keys(attempt)},
                             attempt, durable=True)
                if delay > 0:
                    await retry_sleep(delay)
                continue
            if run is None:
                return result
            if attempt > 1:
                self._record(call, T.TASK_RETRY_COMPLETED, self._retry_keys(attempt), attempt)
            self._record(call, T.TASK_COMPLETED, output, attempt, durable=self.durable)
            return result

    def _cache_key(self, call: _Call) -> str:
        """flux-core's cache key: the task's name and its arguments (not the execution)."""
        payload = json.dumps([call.name, call.encoded], sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False)
        return f"{call.name[:200]}_{hashlib.sha256(payload.encode()).hexdigest()[:32]}"

    def _cached(self, call: _Call, key: str) -> Any:
        found = call.run.store.cache_get(key)
        return found if found is MISSING else decode(found)

    def _remember(self, call: _Call, key: str, result: Any) -> None:
        try:
            encoded = encode(result, f"the result of task '{call.name}'")
        except SerializationError:
            return  # only an output_storage can hold it: not cached
        if call.run.secret_values:
            encoded = scrub(encoded, call.run.secret_values)
        call.run.store.cache_put(key, encoded)

    def _retry_delay(self, attempt: int) -> float:
        """What attempt ``attempt`` (2 for the first retry) waits before it starts."""
        return self.retry_delay * self.retry_backoff ** (attempt - 2)

    def _retry_keys(self, attempt: int) -> dict[str, Any]:
        """flux-core's names in retry events: ``current_attempt`` counts retries (1 for
        the first), ``max_attempts`` is ``retry_max_attempts``, ``current_delay`` the
        wait before this retry."""
        return {"current_attempt": attempt - 1, "max_attempts": self.retry_max_attempts,
                "current_delay": self._retry_delay(attempt), "backoff": self.retry_backoff}

    async def _invoke(self, call: _Call) -> Any:
        if self._plain_params is not None and not call.kwargs:
            args, kwargs = call.args, {}  # bound by position (see __call__)
        else:
            args, kwargs = call.bound.args, call.bound.kwargs
        if self.is_async:
            if self.timeout is None:
                return await self.func(*args, **kwargs)
            try:
                async with asyncio.timeout(self.timeout) as cm:
                    return await self.func(*args, **kwargs)
            except TimeoutError:
                if cm.expired():
                    raise ExecutionTimeoutError("task", call.name, call.id,
                                                self.timeout) from None
                raise
        result = await _in_thread(self.func, args, kwargs, self.timeout,
                                  lambda: ExecutionTimeoutError("task", call.name, call.id,
                                                                self.timeout))
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _give_up(self, call: _Call, secrets: dict[str, str], exc: Exception,
                       attempt: int) -> Any:
        """Every attempt failed: rollback, then fallback, else raise."""
        run = call.run
        cause = {"error": encode_error(exc)} if run is not None else None
        if self.rollback is not None:
            self._record(call, T.TASK_ROLLBACK_STARTED, cause, attempt)
            try:
                await _call_handler(self.rollback, call, secrets)
            except Exception as rb_exc:
                self._record(call, T.TASK_ROLLBACK_FAILED,
                             encode_error(rb_exc) if run else None, attempt)
            else:
                self._record(call, T.TASK_ROLLBACK_COMPLETED, None, attempt)
        if self.fallback is not None:
            self._record(call, T.TASK_FALLBACK_STARTED, cause, attempt)
            try:
                value = await _call_handler(self.fallback, call, secrets)
                if run is not None:
                    output = run.encode_output(self.output_storage, f"{run.record.id}/{call.id}",
                                               value, f"the fallback result of '{call.name}'")
            except Exception as fb_exc:
                self._record(call, T.TASK_FALLBACK_FAILED,
                             encode_error(fb_exc) if run else None, attempt)
                fb_exc.__context__ = exc
                exc = fb_exc
            else:
                self._record(call, T.TASK_FALLBACK_COMPLETED, output, attempt)
                self._record(call, T.TASK_COMPLETED, output, attempt,  # flux-core
                             durable=self.durable)
                return value
        error = self._final_error(exc, attempt, call)
        if run is not None:
            mark_failed(error, call.id)
            self._record(call, T.TASK_FAILED, encode_error(error), attempt,
                         durable=self.durable)
        raise error

    def _final_error(self, exc: Exception, attempts: int, call: _Call) -> Exception:
        if self.retry_max_attempts > 0 and attempts > 1:
            retry = RetryError(exc, attempts, self.retry_delay, self.retry_backoff,
                               task_id=call.id, task_name=call.name)
            return ExecutionError(retry, task_id=call.id, task_name=call.name)
        if isinstance(exc, ExecutionError):
            return exc
        return ExecutionError(exc, task_id=call.id, task_name=call.name)


class _Call:
    """One call of a task: who made it, its id, name and arguments (bound and as passed)."""

    __slots__ = ("args", "bound", "encoded", "id", "kwargs", "name", "node", "parent", "run")

    def __init__(self, run: Run | None, name: str, bound: inspect.BoundArguments,
                 args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.run = run
        self.name = name
        self.bound = bound
        self.args = args  # as passed at the call site: what fallback and rollback get
        self.kwargs = kwargs
        self.id: str | None = None
        self.parent: str | None = None
        self.node: str | None = None
        self.encoded: Any = None


async def _call_handler(handler: Callable[..., Any], call: _Call,
                        secrets: dict[str, str]) -> Any:
    """Call a fallback or rollback with the task's arguments as they were passed at the
    call site (flux-core's ``fallback(*args, **kwargs)``: no defaults filled in, so a
    handler may take fewer parameters than its task), and ``secrets`` if it takes them."""
    args, kwargs = call.args, dict(call.kwargs)
    try:
        params = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        params = {}
    if "secrets" in params:
        kwargs["secrets"] = secrets
    else:
        kwargs.pop("secrets", None)
    if isinstance(handler, Task):
        handler = handler.func
    if inspect.iscoroutinefunction(handler):
        return await handler(*args, **kwargs)
    result = await _in_thread(handler, args, kwargs, None, None)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _in_thread(func, args, kwargs, timeout, timeout_error) -> Any:
    """Run a blocking function off the event loop (abandoned if it times out)."""
    loop = asyncio.get_running_loop()
    if timeout is None:
        return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))
    future: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        try:
            result, exc = func(*args, **kwargs), None
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting coroutine
            result, exc = None, e
        try:
            loop.call_soon_threadsafe(_settle, future, result, exc)
        except RuntimeError:
            pass  # abandoned after a timeout and the loop is gone: nothing waits for it

    threading.Thread(target=target, daemon=True, name="flux-task").start()
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        if future.cancelled() or not future.done():
            raise timeout_error() from None
        raise


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _check_name_template(name: str, signature: inspect.Signature) -> None:
    """A name like ``"sum_fibo_{iteration}"`` may only name the task's parameters."""
    params = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(name) if f is not None]
    except ValueError as exc:
        raise ValueError(f"Task name template '{name}' is malformed: {exc} (write a literal "
                         "brace as '{{' or '}}')") from None
    for field_name in fields:
        root = field_name.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise ValueError(f"Task name template '{name}' has a positional field "
                             f"'{{{field_name}}}': name the parameter, e.g. '{{x}}'")
        if root not in params and not takes_any:
            raise ValueError(f"Task name template '{name}' refers to '{{{root}}}', which is "
                             f"not a parameter of the task ({', '.join(params) or 'none'})")


def _default_secrets(names: Sequence[str]) -> dict[str, str]:
    from flux import config

    return config.default_secrets().get_many(names)


def _callable_name(fn: Any) -> str | None:
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or repr(fn)


class _TaskDecorator:
    """``@task``, ``@task(...)`` and ``@task.with_options(...)``; ``isinstance(t, task)``
    is true for a decorated task (flux-core's ``task`` is the class itself)."""

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, Task)

    def __call__(self, func: Callable[..., Any] | None = None, **options: Any) -> Any:
        if func is None:
            return lambda f: Task(f, **options)
        return Task(func, **options)

    def with_options(self, **options: Any) -> Callable[[Callable[..., Any]], Task]:
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise TypeError(f"Unknown task option(s): {', '.join(sorted(unknown))}. "
                            f"Known: {', '.join(_OPTION_NAMES)}")
        return lambda func: Task(func, **options)


task = _TaskDecorator()
