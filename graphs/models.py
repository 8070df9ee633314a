"""Models of the graphs app."""
