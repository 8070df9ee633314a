"""The app's models, where Django looks for them (``executions.models``): executions and
their events (``executions.py``), tokens and secrets (``access.py``), schedules
(``schedules.py``). Import them from here."""

from executions.models.access import Secret, Token
from executions.models.executions import (
    Approval,
    Event,
    EventWait,
    Execution,
    KeptEvent,
    TaskCache,
    Worker,
    Workflow,
)
from executions.models.schedules import Schedule

__all__ = [
    "Approval", "Event", "EventWait", "Execution", "KeptEvent", "Schedule", "Secret",
    "TaskCache", "Token", "Worker", "Workflow",
]
