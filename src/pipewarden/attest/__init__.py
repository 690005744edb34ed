"""Attestations: SBOMs, in-toto statements and DSSE envelopes for build outputs."""
