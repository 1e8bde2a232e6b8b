"""iosim_tools — where the helper scripts find the iosim programs.

Every script takes the programs the same two ways: `--build DIR` (DIR/iosim
and DIR/iosim-trace), or the environment the CLI tests set, $IOSIM and
$IOSIM_TRACE (each a program's path); --build wins, and without either the
repository's build/ is used.
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ENV = {"iosim": "IOSIM", "iosim-trace": "IOSIM_TRACE"}


def program(build, name):
    """Path of program `name` ("iosim" or "iosim-trace")."""
    if build:
        return os.path.join(build, name)
    return os.environ.get(_ENV[name]) or os.path.join(ROOT, "build", name)


BUILD_HELP = ("directory with iosim and iosim-trace (default: $IOSIM and "
              "$IOSIM_TRACE, else build/)")
