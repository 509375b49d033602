"""``python -m sentinelkit_kql``: fetch Microsoft's parser, or check a query."""

from .cli import main

raise SystemExit(main())
