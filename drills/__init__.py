"""Fault drills: run a process through a fault and count every effect in the backoffice
ledger (nothing doubled, nothing lost, every run terminal with its reason).

`python -m drills` (or `make drills`) runs them all and prints the table; the fast ones
run in the test suite (tests/drills/).
"""
