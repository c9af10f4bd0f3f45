import sys

from pairgen.cli import main

sys.exit(main())
