"""frontend/lib/api-types.ts (the front-end's types of the API's shapes) is generated
from the OpenAPI document: the committed file must be what scripts/api-types makes."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_typescript_types_are_up_to_date():
    done = subprocess.run([ROOT / "scripts" / "api-types", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
