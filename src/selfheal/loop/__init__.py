"""Talking to a deployed loop, local or on AWS: where it is, reading its state, injecting failures, load."""
