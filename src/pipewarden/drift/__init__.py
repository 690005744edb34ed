"""Drift: pipeline declarations and CodeBuild projects compared with their approved
baselines.

Pure (no I/O): :mod:`~pipewarden.drift.normalise` turns a parsed pipeline (from
any input kind) into a canonical API-shaped declaration and hashes it;
:mod:`~pipewarden.drift.secrets` seals the plaintext secrets in it before it is
stored or compared; :mod:`~pipewarden.drift.diff` lists the changes between two
declarations, each with a JSON pointer, and classifies them: PW901 when the
change weakens the pipeline (with the reason), PW902 otherwise;
:mod:`~pipewarden.drift.projects` does the same for CodeBuild projects;
:mod:`~pipewarden.drift.results` turns changes into engine results so every
report format works unchanged; :mod:`~pipewarden.drift.events` reads CloudTrail
events.

With a store: :mod:`~pipewarden.drift.check` (a drift check),
:mod:`~pipewarden.drift.lambda_handler` (one event) and
:mod:`~pipewarden.drift.watch` (polling); :mod:`~pipewarden.drift.emit` sends
findings to SNS and Security Hub through :mod:`pipewarden.collect.alerts`.
"""
