"""The one exception type for user mistakes: entry points print it as one line, no traceback."""

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
