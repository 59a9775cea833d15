"""TrustHub: the trust layer for data-driven government."""

__version__ = "0.1.0"
