"""Models of the executions app."""
