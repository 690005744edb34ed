"""In-pipeline verifiers: small checks that run inside a pipeline and fail closed.

Each verifier prints one JSON evidence record (see :mod:`pipewarden.verify._evidence`)
and exits 0 only when everything it checks holds. Nothing here is imported by
``pipewarden --help``; every verifier loads only what it needs.
"""
