"""Output: files sigmakit writes (SPL, Splunk .conf files, apps), always atomically."""

from sigmakit.output.atomic import write_text_atomic

__all__ = ["write_text_atomic"]
