import sys

from pinnkan.cli import main

sys.exit(main())
