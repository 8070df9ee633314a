"""Graphs: graph definitions drawn in the editor, compiled into flux Graphs."""
