"""Quarterly versions of rulebooks: starting the next quarter, and (diff.py) comparing two."""
