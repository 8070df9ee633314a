"""The engine's own stores against the store contract."""

import pytest

from flux.sqlite_store import SQLiteStore
from flux.store import MemoryStore
from tests.engine.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = SQLiteStore(tmp_path / "sub" / "flux.db")
        yield store
        store.close()
