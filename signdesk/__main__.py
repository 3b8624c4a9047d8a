"""``python -m signdesk`` and the frozen build's entry point."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # first: in the frozen build a spawned child must not start the app
    from signdesk.cli import main

    raise SystemExit(main())
