"""The approval inbox: the page (``views``), the REST API (``api``), the websocket
consumer (``consumers``) and the nav badge (``context``). The rules live in
``executions/core/approvals.py``; docs/inbox.md describes it all."""
