"""The approval inbox: the page (``views``), the REST API (``api``), the websocket
consumer (``consumers``) and the nav badge (``context``). The rules live in
``executions/approvals.py``; docs/inbox.md describes it all."""
