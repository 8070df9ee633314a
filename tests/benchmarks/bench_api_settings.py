"""Settings of the daphne process that ``bench_api.py`` measures: the project's own,
with a URLconf that adds the benchmark's floor (a bare Django view) in front of the
project's routes. Nothing here is served by a deployment.

``BENCH_PROFILE=1`` puts ``bench_api_profile.Profiled`` first in the middleware: a
request carrying ``X-Bench-Profile: NAME`` is profiled (cProfile) under NAME.
"""

import os

from fluxweb.settings import *  # noqa: F403
from fluxweb.settings import MIDDLEWARE

ROOT_URLCONF = "tests.benchmarks.bench_api_app"

if os.environ.get("BENCH_PROFILE") == "1":
    MIDDLEWARE = ["tests.benchmarks.bench_api_profile.Profiled", *MIDDLEWARE]
