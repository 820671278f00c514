"""The background stack on this machine: `up`/`down`, the detached cloud and dashboard processes."""
