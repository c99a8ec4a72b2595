"""``python -m service.cli``: the same entry point as the ``dialogforge`` script."""

from service.cli.main import main

if __name__ == "__main__":  # not when a spawned worker process (service.jobs.pack_parser) imports it
    main()
