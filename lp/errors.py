"""The one exception type for user mistakes: entry points print it as one line, no traceback;
and `tell`, for the lines that inform rather than stop."""

import os
import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input or a wrong setting; the message names the file or flag and the fix."""


def run_cli(main: Callable[[list[str]], None]) -> None:
    """Call main(argv); print a UserError as `lp: error: ...` and exit with status 2."""
    try:
        main(sys.argv[1:])
    except UserError as error:
        print(f"lp: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("lp: interrupted", file=sys.stderr)
        sys.exit(130)


def tell(line: str) -> None:
    """Print a line for the user once: under `accelerate launch` every process reads the same
    data, and only the main one (RANK 0) says what it found."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(line)
