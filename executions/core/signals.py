"""Signals of the executions app.

``events_committed`` is sent after each commit that added events to an
execution's log, from the thread that committed (a worker's store thread):

    events_committed.send(sender=DjangoStore, execution_id=..., events=[...],
                          execution={...})

``events`` are event dicts (``Event.to_dict()`` shape, ordered by seq) and
``execution`` the execution's JSON (``Execution.to_dict()`` shape) as of that
commit. Receivers must be quick and must not raise: they run on the engine's
path. The live layer (Channels) subscribes to it.
"""

from django.dispatch import Signal

events_committed = Signal()

#: Sent after a run saved its tasks' progress values (``progress()``): ``execution_id``
#: and ``progress`` ({task id: {"name", "value", "time"}}). Same rules as above.
progress_saved = Signal()
