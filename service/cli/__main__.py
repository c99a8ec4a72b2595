"""``python -m service.cli``: the same entry point as the ``dialogforge`` script."""

from service.cli.main import main

main()
