"""The version of sigmakit (one place, read by the package, the CLI and the app it builds)."""

__version__ = "0.1.0"
