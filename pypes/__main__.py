import sys

from pypes.cli import main

sys.exit(main())
