"""Executions: workflows, executions, events and approvals, stored by Django."""
