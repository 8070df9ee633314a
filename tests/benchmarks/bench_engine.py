"""Per-task overhead of the flux engine, next to flux-core doing the same, in one run.

    .venv/bin/python tests/benchmarks/bench_engine.py           # about 1-2 minutes
    .venv/bin/python tests/benchmarks/bench_engine.py --full    # flux-core at 10,000 too
    .venv/bin/python tests/benchmarks/bench_engine.py --no-peer # ours only

Trivial async tasks (``return i``), sequential, ``map`` and ``parallel``, in
memory and on the SQLite store (WAL, synchronous=NORMAL, a temp file); then
resuming an execution whose 10,000 tasks are recorded. flux-core (the
reference implementation) is installed by this script into its own Python 3.12
venv under ``.bench/`` and runs the same workflows inline on its default
SQLite store. Figures are medians of ``--repeat`` runs after a warm-up; the
machine is shared, so compare the ratios printed in the same run. Results are
kept in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flux import ExecutionContext, MemoryStore, task, workflow  # noqa: E402
from flux.engine import Engine  # noqa: E402
from flux.sqlite_store import SQLiteStore  # noqa: E402
from flux.tasks import parallel  # noqa: E402

FLUX_CORE = "flux-core==0.87.5"


@task
async def step(i: int) -> int:
    return i


@workflow
async def sequential(ctx: ExecutionContext[int]):
    total = 0
    for i in range(ctx.input):
        total += await step(i)
    return total


@workflow
async def mapped(ctx: ExecutionContext[int]):
    return sum(await step.map(list(range(ctx.input))))


@workflow
async def fanned(ctx: ExecutionContext[int]):
    return sum(await parallel(*(step(i) for i in range(ctx.input))))


class Died(BaseException):
    pass


@workflow
async def dies_at_the_end(ctx: ExecutionContext[int]):
    total = 0
    for i in range(ctx.input):
        total += await step(i)
    if ctx.input > 0 and not os.environ.get("BENCH_RESUMING"):
        raise Died  # the process "dies" with every task recorded
    return total


WORKFLOWS = {"sequential": sequential, "map": mapped, "parallel": fanned}


def make_store(kind: str, folder: str):
    return MemoryStore() if kind == "memory" else SQLiteStore(Path(folder) / f"{kind}.db")


async def time_ours(kind: str, name: str, n: int, repeat: int, folder: str) -> float:
    store = make_store(kind, folder)
    wf = WORKFLOWS[name]
    await Engine(store).start(wf, 10)  # warm-up
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ctx = await Engine(store).start(wf, n)
        samples.append(time.perf_counter() - t0)
        assert ctx.has_succeeded, ctx.error
    return statistics.median(samples) / n * 1e6


async def time_resume(n: int, folder: str) -> tuple[float, float]:
    store = SQLiteStore(Path(folder) / "resume.db")
    engine = Engine(store)
    record = engine.create(dies_at_the_end, n)
    t0 = time.perf_counter()
    try:
        await engine.run(record.id, workflow=dies_at_the_end)
    except Died:
        pass
    first = time.perf_counter() - t0
    os.environ["BENCH_RESUMING"] = "1"
    try:
        t0 = time.perf_counter()
        ctx = await Engine(SQLiteStore(Path(folder) / "resume.db")).run(
            record.id, workflow=dies_at_the_end)
        resumed = time.perf_counter() - t0
    finally:
        os.environ.pop("BENCH_RESUMING")
    assert ctx.has_succeeded and ctx.output == n * (n - 1) // 2
    return first, resumed


PEER_SCRIPT = textwrap.dedent('''
    import json, sys, time
    from flux import workflow, task, ExecutionContext
    from flux.tasks import parallel

    @task
    async def step(i: int) -> int:
        return i

    @workflow
    async def sequential(ctx: ExecutionContext[int]):
        total = 0
        for i in range(ctx.input):
            total += await step(i)
        return total

    @workflow
    async def mapped(ctx: ExecutionContext[int]):
        return sum(await step.map(list(range(ctx.input))))

    @workflow
    async def fanned(ctx: ExecutionContext[int]):
        return sum(await parallel(*(step(i) for i in range(ctx.input))))

    if __name__ == "__main__":
        wf = {"sequential": sequential, "map": mapped, "parallel": fanned}[sys.argv[1]]
        n = int(sys.argv[2])
        wf.run(10)
        t0 = time.perf_counter()
        ctx = wf.run(n)
        elapsed = time.perf_counter() - t0
        print(json.dumps({"seconds": elapsed, "ok": ctx.has_succeeded}))
''')


def peer_python() -> Path:
    venv = ROOT / ".bench" / "flux-core-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing {FLUX_CORE} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", FLUX_CORE], check=True)
    return python


def time_peer(python: Path, name: str, n: int, folder: str) -> float | None:
    work = Path(folder) / f"peer-{name}-{n}"
    (work / ".flux").mkdir(parents=True)
    (work / "peer.py").write_text(PEER_SCRIPT)
    out = subprocess.run([str(python), "peer.py", name, str(n)], cwd=work, capture_output=True,
                         text=True, timeout=3600)
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"flux-core {name} {n} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return data["seconds"] / n * 1e6 if data["ok"] else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also flux-core at 10,000 tasks")
    parser.add_argument("--no-peer", action="store_true", help="skip flux-core")
    args = parser.parse_args()
    cases = [("sequential", 100), ("sequential", 1000), ("sequential", 10000),
             ("map", 1000), ("parallel", 1000)]
    python = None if args.no_peer else peer_python()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, n in cases:
            memory = asyncio.run(time_ours("memory", name, n, args.repeat, folder))
            sqlite = asyncio.run(time_ours("sqlite", name, n, args.repeat, folder))
            peer = None
            if python is not None and (n < 10000 or args.full):
                peer = time_peer(python, name, n, folder)
            rows.append((f"{name} x {n:,}", memory, sqlite, peer))
            print_row(*rows[-1], flush=True)
        first, resumed = asyncio.run(time_resume(10000, folder))
    print()
    print(f"resume after 10,000 recorded tasks (SQLite): {resumed * 1000:.0f} ms "
          f"(first run {first * 1000:.0f} ms)")


def print_row(case: str, memory: float, sqlite: float, peer: float | None,
              flush: bool = False) -> None:
    if not getattr(print_row, "header", False):
        print(f"{'case':<22}{'memory µs/task':>16}{'SQLite µs/task':>16}"
              f"{'flux-core µs/task':>19}{'flux-core/SQLite':>18}")
        print_row.header = True  # type: ignore[attr-defined]
    peer_text = f"{peer:,.0f}" if peer is not None else "-"
    ratio = f"{peer / sqlite:,.0f}x" if peer is not None else "-"
    print(f"{case:<22}{memory:>16,.1f}{sqlite:>16,.1f}{peer_text:>19}{ratio:>18}", flush=flush)


if __name__ == "__main__":
    main()
