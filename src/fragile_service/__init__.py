"""The fragile service: a Lambda behind an HTTP API that fails on purpose, as its environment says."""

__all__: list[str] = []
