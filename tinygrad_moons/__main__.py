"""``python -m tinygrad_moons``: the command line."""

from tinygrad_moons.cli import main

raise SystemExit(main())
