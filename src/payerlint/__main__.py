import sys

from payerlint.cli import main

sys.exit(main())
