"""The dashboard's pages (server-rendered; live parts come from ``frontend/dashboard.ts``).

* ``overview``: ``/``
* ``workflows``: ``/workflows/``, ``/workflows/<name>/`` (with the Run form)
* ``executions``: ``/executions/`` (filters, keyset pages, bulk actions),
  ``/executions/<id>/`` (detail, timeline, live log) and its actions

Every page needs a logged-in user with the view permission
(``executions/access/permissions.py``); actions check theirs and go through
``executions.core.runner`` with ``actor`` set to the username.
"""
