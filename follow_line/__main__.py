import sys

from follow_line.cli import main

sys.exit(main())
