"""Tests of the Medicare Part B rulebook (rulebooks/medicare/2026Q2.rules).

A package, so these modules are imported as `medicare.test_rules` and never collide with
another folder's `test_rules.py`.
"""
