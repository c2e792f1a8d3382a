"""``python -m nnopt_lib.crosscheck``: run the whole matrix (see :func:`.matrix.main`)."""

import sys

from nnopt_lib.crosscheck.matrix import main

if __name__ == "__main__":
    sys.exit(main())
