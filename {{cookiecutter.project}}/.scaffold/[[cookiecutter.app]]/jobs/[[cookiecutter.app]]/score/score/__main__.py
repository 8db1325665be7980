import sys

from score.cli import main

sys.exit(main())
