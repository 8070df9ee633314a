"""Values to JSON and back, faithfully.

Inputs, outputs, task arguments and results are stored as JSON. Plain JSON
types pass through untouched (the fast path); other supported types become a
tagged object ``{"$t": <tag>, "v": ...}`` that :func:`decode` turns back into
the same Python value: datetime, date, time, timedelta, UUID, Decimal, bytes,
tuple, set, frozenset, enums, dataclasses, pydantic models, dicts whose keys
are not strings, and floats JSON can't spell (nan, inf). More types come
through :func:`register_codec`; pandas DataFrames and Series and numpy arrays
and scalars are registered when pandas or numpy is installed (a DataFrame's
stored form carries its ``shape`` and a ``preview``, its first rows as text
lines, for people reading the log). No codec unpickles: a stored value is data.

Errors are stored as ``{"type", "module", "message", "traceback", "cause"}``
with their whole cause chain, and come back as the same exception class.
"""

from __future__ import annotations

import base64
import contextvars
import dataclasses
import enum
import importlib
import importlib.util
import math
import traceback as tb
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flux.errors import SerializationError

TAG = "$t"
#: Looks a secret up by name when a recorded value held one (set by the engine).
SECRET_RESOLVER: contextvars.ContextVar[Any] = contextvars.ContextVar("flux_secrets", default=None)
_PLAIN = (str, int, bool, type(None))


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str) -> type | None:
    module_name, _, qualname = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) else None


def encode(value: Any, what: str = "value") -> Any:
    """Turn ``value`` into JSON-compatible data. Raises SerializationError naming ``what``."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is float:
        if math.isfinite(value):
            return value
        return {TAG: "float", "v": repr(value)}
    if t is list:
        return [encode(v, what) for v in value]
    if t is dict:
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: encode(v, what) for k, v in value.items()}
        return {TAG: "dict", "v": [[encode(k, what), encode(v, what)] for k, v in value.items()]}
    return _encode_other(value, what)


def _encode_other(value: Any, what: str) -> Any:
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "cls": _class_path(type(value)), "v": encode(value.value, what)}
    if isinstance(value, bool | int | str):  # subclasses of plain types
        return value if type(value) in _PLAIN else encode(type(value).__mro__[1](value), what)
    if isinstance(value, float):
        return encode(float(value), what)
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "v": str(value)}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [encode(v, what) for v in value]}
    if isinstance(value, set | frozenset):
        items = [encode(v, what) for v in value]
        try:
            items.sort(key=_sort_key)
        except TypeError:
            pass
        return {TAG: "frozenset" if isinstance(value, frozenset) else "set", "v": items}
    if isinstance(value, list):
        return [encode(v, what) for v in value]
    if isinstance(value, dict):
        return encode(dict(value), what)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name), what) for f in dataclasses.fields(value)}
        return {TAG: "dataclass", "cls": _class_path(type(value)), "v": fields}
    dump = getattr(value, "model_dump", None)
    if callable(dump) and hasattr(type(value), "model_validate"):
        return {TAG: "pydantic", "cls": _class_path(type(value)), "v": dump(mode="json")}
    for klass in type(value).__mro__:
        codec = _CODECS.get(f"{klass.__module__}:{klass.__qualname__}")
        if codec is not None:
            return {TAG: codec[0], **codec[1](value, what)}
    raise SerializationError(what, value)


def _sort_key(v: Any) -> str:
    import json

    return json.dumps(v, sort_keys=True, default=str)


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`."""
    t = type(data)
    if t in _PLAIN or t is float:
        return data
    if t is list:
        return [decode(v) for v in data]
    if t is dict:
        tag = data.get(TAG)
        if tag is None:
            return {k: decode(v) for k, v in data.items()}
        return _decode_tagged(tag, data)
    return data


def _decode_tagged(tag: str, data: dict[str, Any]) -> Any:
    v: Any = data.get("v")
    match tag:
        case "float":
            return float(v)
        case "dict":
            return {_hashable(decode(k)): decode(val) for k, val in v}
        case "datetime":
            return datetime.fromisoformat(v)
        case "date":
            return date.fromisoformat(v)
        case "time":
            return time.fromisoformat(v)
        case "timedelta":
            return timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        case "uuid":
            return uuid.UUID(v)
        case "decimal":
            return Decimal(v)
        case "bytes":
            return base64.b64decode(v)
        case "tuple":
            return tuple(decode(x) for x in v)
        case "set":
            return {_hashable(decode(x)) for x in v}
        case "frozenset":
            return frozenset(_hashable(decode(x)) for x in v)
        case "enum":
            cls = _import_class(data["cls"])
            return cls(decode(v)) if cls is not None else decode(v)
        case "dataclass":
            cls = _import_class(data["cls"])
            fields = {k: decode(x) for k, x in v.items()}
            if cls is None or not dataclasses.is_dataclass(cls):
                return fields
            init = {f.name for f in dataclasses.fields(cls) if f.init}
            obj = cls(**{k: x for k, x in fields.items() if k in init})
            for k, x in fields.items():
                if k not in init:
                    object.__setattr__(obj, k, x)
            return obj
        case "pydantic":
            model: Any = _import_class(data["cls"])  # a pydantic model class
            return model.model_validate(v) if model is not None else v
        case "secret":
            resolver = SECRET_RESOLVER.get()
            return resolver(data["name"]) if resolver is not None else "***"
        case "ref":
            return data  # resolved by the engine (output storage)
    decoder = _DECODERS.get(tag)
    if decoder is not None:
        return decoder(data)
    return {k: decode(x) for k, x in data.items()}


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


# --- codecs for more types ----------------------------------------------------

#: "module:QualName" of a class -> (tag, encoder); tag -> decoder.
_CODECS: dict[str, tuple[str, Callable[[Any, str], dict[str, Any]]]] = {}
_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register_codec(tag: str, classes: str | type | tuple[str | type, ...],
                   encoder: Callable[[Any, str], dict[str, Any]],
                   decoder: Callable[[dict[str, Any]], Any]) -> None:
    """Store values of ``classes`` (and their subclasses) as ``{"$t": tag, **encoder(value,
    what)}``; :func:`decode` gives that dict to ``decoder``. A class may be named
    ``"module:QualName"`` so that registering does not import it. ``encoder`` returns
    JSON-compatible data (call :func:`encode` for nested values); ``what`` names the
    value in errors."""
    for cls in classes if isinstance(classes, tuple) else (classes,):
        path = cls if isinstance(cls, str) else _class_path(cls)
        _CODECS[path] = (tag, encoder)
    _DECODERS[tag] = decoder


#: Rows of a DataFrame or Series shown in its stored ``preview``.
PREVIEW_ROWS = 10


def _preview(text: str) -> list[str]:
    return text.splitlines()


def _encode_frame(frame: Any, what: str) -> dict[str, Any]:
    import json

    split = json.loads(frame.to_json(orient="split", date_format="iso", date_unit="ns",
                                     double_precision=15))
    return {"shape": list(frame.shape),
            "preview": _preview(frame.head(PREVIEW_ROWS).to_string(max_cols=12,
                                                                    max_colwidth=40)),
            "columns": split["columns"], "index": split["index"], "data": split["data"],
            "dtypes": [str(t) for t in frame.dtypes], "columns_dtype": str(frame.columns.dtype),
            **_index_meta(frame.index)}


def _decode_frame(data: dict[str, Any]) -> Any:
    import pandas as pd

    columns = pd.Index(data["columns"], dtype=data["columns_dtype"])
    frame = pd.DataFrame(data["data"], columns=columns, index=data["index"])
    for position, dtype in enumerate(data["dtypes"]):
        frame.isetitem(position, frame.iloc[:, position].astype(dtype))
    frame.index = _restore_index(frame.index, data)
    return frame


def _encode_series(series: Any, what: str) -> dict[str, Any]:
    import json

    split = json.loads(series.to_json(orient="split", date_format="iso", date_unit="ns",
                                      double_precision=15))
    return {"name": encode(series.name, what), "shape": list(series.shape),
            "preview": _preview(series.head(PREVIEW_ROWS).to_string()),
            "index": split["index"], "data": split["data"], "dtype": str(series.dtype),
            **_index_meta(series.index)}


def _decode_series(data: dict[str, Any]) -> Any:
    import pandas as pd

    series = pd.Series(data["data"], index=data["index"], name=decode(data["name"]))
    series = series.astype(data["dtype"])
    series.index = _restore_index(series.index, data)
    return series


def _index_meta(index: Any) -> dict[str, Any]:
    return {"index_dtype": str(index.dtype), "index_names": list(index.names)}


def _restore_index(index: Any, data: dict[str, Any]) -> Any:
    index = index.astype(data["index_dtype"])
    index.names = data["index_names"]
    return index


def _encode_array(array: Any, what: str) -> dict[str, Any]:
    head = {"dtype": array.dtype.str, "shape": list(array.shape)}
    if array.dtype.kind not in "cVO":
        try:
            return {**head, "v": encode(array.tolist(), what)}
        except SerializationError:
            pass
    if array.dtype.kind == "O":
        return {**head, "v": encode(array.tolist(), what)}
    return {**head, "bytes": base64.b64encode(array.tobytes()).decode("ascii")}


def _decode_array(data: dict[str, Any]) -> Any:
    import numpy as np

    dtype = np.dtype(data["dtype"])
    if "bytes" in data:
        return np.frombuffer(base64.b64decode(data["bytes"]), dtype=dtype).reshape(
            data["shape"]).copy()
    return np.array(decode(data["v"]), dtype=dtype).reshape(data["shape"])


def _encode_scalar(value: Any, what: str) -> dict[str, Any]:
    return {"dtype": value.dtype.str, "v": encode(value.item(), what)}


def _decode_scalar(data: dict[str, Any]) -> Any:
    import numpy as np

    return np.dtype(data["dtype"]).type(decode(data["v"]))


if importlib.util.find_spec("numpy") is not None:
    register_codec("ndarray", "numpy:ndarray", _encode_array, _decode_array)
    register_codec("numpy", "numpy:generic", _encode_scalar, _decode_scalar)
if importlib.util.find_spec("pandas") is not None:
    # pandas 3 names its classes' module "pandas"; earlier versions the defining module.
    register_codec("dataframe", ("pandas:DataFrame", "pandas.core.frame:DataFrame"),
                   _encode_frame, _decode_frame)
    register_codec("series", ("pandas:Series", "pandas.core.series:Series"),
                   _encode_series, _decode_series)


# --- errors -----------------------------------------------------------------

_ERROR_ATTRS = ("timeout", "attempts", "delay", "backoff", "pause_name", "comment", "actor",
                "task_id", "task_name", "name", "type")


def encode_error(exc: BaseException, *, with_traceback: bool = True,
                 _depth: int = 0) -> dict[str, Any]:
    """Serialize an exception with its message, class and whole cause chain."""
    data: dict[str, Any] = {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc),
    }
    if exc.args and all(isinstance(a, str | int | float | bool | type(None)) for a in exc.args):
        if exc.args != (data["message"],):
            data["args"] = list(exc.args)
    attrs = {}
    for name in _ERROR_ATTRS:
        if name in getattr(exc, "__dict__", {}):
            value = exc.__dict__[name]
            if isinstance(value, str | int | float | bool | type(None)):
                attrs[name] = value
    if attrs:
        data["attrs"] = attrs
    if with_traceback and exc.__traceback__ is not None and _depth == 0:
        data["traceback"] = "".join(tb.format_exception(exc, limit=20))
    if _depth < 20:
        inner = getattr(exc, "inner_exception", None)
        cause = inner if isinstance(inner, BaseException) else None
        if cause is None:
            cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if cause is not None and cause is not exc:
            data["cause"] = encode_error(cause, with_traceback=False, _depth=_depth + 1)
    return data


def decode_error(data: dict[str, Any]) -> BaseException:
    """Rebuild an exception from :func:`encode_error` output, cause chain included."""
    cause = decode_error(data["cause"]) if data.get("cause") else None
    cls = _import_class(f"{data.get('module', 'builtins')}:{data.get('type', 'Exception')}")
    message = data.get("message", "")
    if cls is None or not issubclass(cls, BaseException):
        from flux.errors import ExecutionError

        exc: BaseException = ExecutionError(
            cause, f"{data.get('type', 'Error')}: {message}"
        )
    else:
        exc = cls.__new__(cls)
        exc.args = tuple(data["args"]) if "args" in data else (message,)
        for name, value in (data.get("attrs") or {}).items():
            try:
                setattr(exc, name, value)
            except AttributeError:
                pass
        if hasattr(cls, "inner_exception") or "inner_exception" in _init_params(cls):
            exc.inner_exception = cause  # type: ignore[attr-defined]
        from flux.errors import ExecutionError

        if isinstance(exc, ExecutionError):
            for name in ("task_id", "task_name"):
                if not hasattr(exc, name):
                    setattr(exc, name, None)
            if not hasattr(exc, "inner_exception"):
                exc.inner_exception = cause
    if cause is not None:
        exc.__cause__ = cause
    if data.get("traceback"):
        exc.__notes__ = [f"Recorded traceback:\n{data['traceback']}"]
    return exc


def _init_params(cls: type) -> tuple[str, ...]:
    code = getattr(getattr(cls, "__init__", None), "__code__", None)
    return code.co_varnames[: code.co_argcount] if code else ()


def error_chain(data: dict[str, Any] | None) -> list[str]:
    """'Type: message' lines from an encoded error, outermost first (for people)."""
    lines = []
    while data:
        lines.append(f"{data.get('type')}: {data.get('message')}")
        data = data.get("cause")
    return lines
