"""dualsign: AI preliminary reads co-signed by licensed physicians (human-machine dual signature)."""

__version__ = "0.1.0"
