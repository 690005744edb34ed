"""Drift: a pipeline declaration compared with its approved baseline. Pure, no I/O.

:mod:`~pipewarden.drift.normalise` turns a parsed pipeline (from any input kind)
into a canonical API-shaped declaration and hashes it;
:mod:`~pipewarden.drift.diff` lists the changes between two declarations, each
with a JSON pointer, and classifies them: PW901 when the change weakens the
pipeline (with the reason), PW902 otherwise; :mod:`~pipewarden.drift.results`
turns them into engine results so every report format works unchanged.
"""
