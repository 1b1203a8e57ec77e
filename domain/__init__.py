"""The domain: plain dataclasses with behaviour. Imports only the standard library."""
