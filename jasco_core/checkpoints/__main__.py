"""`python -m jasco_core.checkpoints inspect NAME_OR_PATH [--json] | list`."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import typing as tp

from .describe import describe, format_description
from .resolve import available_models


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> int:
    """`inspect NAME_OR_PATH [--json]` or `list`. Exit status 2 when a model cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m jasco_core.checkpoints",
                                     description="Inspect JASCO checkpoints and list the models available here.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_inspect = sub.add_parser("inspect", help="print a checkpoint's configuration and parameter counts")
    p_inspect.add_argument("model", help="'embedded', a checkpoint folder or state_dict.bin, or a cached repo id")
    p_inspect.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("list", help="list the embedded and released models and whether they can be loaded here")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name, ok, reason in available_models():
            print(f"{'yes' if ok else 'no ':<4} {name:<42} {reason}")
        return 0
    try:
        d = describe(args.model)
    except ValueError as e:  # CheckpointError and configuration errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(d, indent=1, default=str) if args.json else format_description(d))
    return 0



if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
