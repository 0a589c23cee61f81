"""The version of this library, in one place (read by the build and the User-Agent)."""

__version__ = "0.1.0"
