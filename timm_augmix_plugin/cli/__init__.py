"""The ``timm-augmix`` command line, one module per subcommand (``cli.main:main`` is the console script).

Nothing is exported here: the subcommands are used through the command line (or ``cli.main.main(argv)``), and
importing ``main`` here would make ``python -m timm_augmix_plugin.cli.main`` load it twice.
"""
from __future__ import annotations

__all__: list[str] = []
