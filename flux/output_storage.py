"""Where outputs live: inline in the event (default) or somewhere else.

``@task.with_options(output_storage=LocalFileStorage("/data/out"))`` stores
the task's result through the storage and records only a reference
``{"$t": "ref", "storage": <name>, "ref": <what store() returned>}`` in the
event. ``ctx.output`` and replay read the real value back with
:meth:`OutputStorage.retrieve`. The Django runtime adds a storage backed by
Django's file storage.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

from flux.errors import SerializationError
from flux.serialization import decode, encode

_STORAGES: dict[str, OutputStorage] = {}


class OutputStorage:
    """Base class. ``store`` returns a JSON-compatible reference."""

    #: A stable name; references carry it so any process can resolve them.
    name = "inline"

    def __init__(self) -> None:
        register_storage(self)

    def store(self, key: str, value: Any) -> Any:
        raise NotImplementedError

    def retrieve(self, ref: Any) -> Any:
        raise NotImplementedError


class InlineOutputStorage(OutputStorage):
    """Keeps the value in the event itself."""

    name = "inline"

    def store(self, key: str, value: Any) -> Any:
        return encode(value, f"output {key}")

    def retrieve(self, ref: Any) -> Any:
        return decode(ref)


class LocalFileStorage(OutputStorage):
    """One file per output under ``path``: JSON when flux can encode the value, else a
    pickle (any picklable value: a model, a connection-free client object...).

    Pickles are read back with :mod:`pickle`, which runs code named in the file: that
    is safe because the folder is your own disk, written only by your workflows. Do
    not point it at a folder others can write to.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or f"file:{self.path}"
        super().__init__()

    def store(self, key: str, value: Any) -> Any:
        safe = key.replace("/", "__").replace(":", "_")
        try:
            data, suffix = json.dumps(encode(value, f"output {key}")).encode(), ".json"
        except SerializationError:
            data, suffix = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ".pickle"
        target = self.path / f"{safe}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return {"file": target.name}

    def retrieve(self, ref: Any) -> Any:
        name = ref["file"]
        if not isinstance(name, str) or Path(name).name != name:
            raise ValueError(f"Not a file of this storage: {name!r}")
        path = self.path / name
        if path.suffix == ".pickle":
            return pickle.loads(path.read_bytes())  # noqa: S301 - the user's own disk
        return decode(json.loads(path.read_text()))


def register_storage(storage: OutputStorage) -> None:
    _STORAGES[storage.name] = storage


def get_storage(name: str) -> OutputStorage | None:
    return _STORAGES.get(name)


def make_ref(storage: OutputStorage, key: str, value: Any) -> Any:
    """The encoded form of ``value`` as recorded in an event."""
    if storage is None or isinstance(storage, InlineOutputStorage):
        return encode(value, f"output of {key}")
    return {"$t": "ref", "storage": storage.name, "ref": storage.store(key, value)}


def resolve(encoded: Any, storage: OutputStorage | None = None) -> Any:
    """Decode an event value, following an output-storage reference."""
    if isinstance(encoded, dict) and encoded.get("$t") == "ref":
        target = storage if storage is not None and storage.name == encoded.get("storage") \
            else get_storage(encoded.get("storage", ""))
        if target is None:
            raise LookupError(
                f"Output stored in '{encoded.get('storage')}' but no such storage is "
                "configured in this process."
            )
        return target.retrieve(encoded["ref"])
    return decode(encoded)
