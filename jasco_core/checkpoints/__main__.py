"""`python -m jasco_core.checkpoints inspect NAME_OR_PATH [--json] | list [--offline] | download NAME`."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import typing as tp

from .describe import describe, format_description
from .released import fetch_released_parts
from .resolve import model_status, resolve_model


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> int:
    """`inspect NAME_OR_PATH [--json]`, `list [--offline]` or `download NAME`. Exit status 2 when a model
    cannot be read or fetched."""
    parser = argparse.ArgumentParser(prog="python -m jasco_core.checkpoints",
                                     description="Inspect JASCO checkpoints, list the models usable here, download one.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_inspect = sub.add_parser("inspect", help="print a checkpoint's configuration and parameter counts")
    p_inspect.add_argument("model", help="'embedded', a checkpoint folder or state_dict.bin, or a cached repo id")
    p_inspect.add_argument("--json", action="store_true", help="print JSON")
    p_list = sub.add_parser("list", help="the embedded and released models: ready, downloadable (and how much), or why not")
    p_list.add_argument("--offline", action="store_true", help="do not ask the Hub for download sizes")
    p_download = sub.add_parser("download", help="download a released model and its text encoder (and codec) now")
    p_download.add_argument("model", help="a Hugging Face repo id such as facebook/jasco-chords-drums-400M")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for m in model_status(ask_hub=not args.offline):
                print(f"{m.state:<12} {m.name:<42} {m.summary if m.state == 'download' else m.reason}")
            return 0
        if args.command == "download":
            source = resolve_model(args.model, download=True)
            folders = [os.path.dirname(source.path)]
            if source.kind == "released":
                folders += fetch_released_parts(source)
            print("\n".join(f"ready: {f}" for f in folders))
            return 0
        d = describe(args.model)
    except ValueError as e:  # CheckpointError and configuration errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(d, indent=1, default=str) if args.json else format_description(d))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(main())
