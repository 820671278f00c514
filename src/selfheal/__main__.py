"""``python -m selfheal``: the same command line as the ``selfheal`` script."""

from selfheal.cli import main

main()
