import sys

from vpatient.cli import main

sys.exit(main())
