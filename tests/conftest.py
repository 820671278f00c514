"""Root of the test suite: loading it puts ``tests/`` on ``sys.path`` (pytest's default ``prepend`` import
mode), so every suite imports the helpers kept here (``fuzzing``) by name."""
