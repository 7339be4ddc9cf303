"""``python -m pastalog`` is the ``pastalog`` command."""
from .cli import main

raise SystemExit(main())
