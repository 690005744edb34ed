"""PipeWarden: supply-chain posture, fixes and verifiers for AWS CodePipeline."""

from pipewarden.model import Finding, Location, Result, Severity, Status

__version__ = "0.1.0"

__all__ = ["Finding", "Location", "Result", "Severity", "Status", "__version__"]
