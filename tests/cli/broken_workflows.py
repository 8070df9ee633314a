"""A workflow module that cannot be imported (for the executions.E001 check)."""

raise RuntimeError("this module is broken on purpose")
