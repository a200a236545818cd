"""``python serve.py serve …``: the ``pypes`` command with the test plugins registered.

Only registered classes can be instantiated, so a server process that must run a test
component gets it the way a plugin package would: in the registry at discovery.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pypes.cli import main  # noqa: E402
from pypes.components.registry import Registry  # noqa: E402
from tests.reliability.plugins import with_plugins  # noqa: E402

_discover = Registry.discover
Registry.discover = classmethod(lambda cls: with_plugins(_discover()))  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
