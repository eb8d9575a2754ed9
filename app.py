"""JASCO demo web app: build the page around a pre-loaded model and serve it.

    python app.py                       # http://127.0.0.1:7860
    JASCO_MODEL=path/to/bundle python app.py
    GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=8080 python app.py

`JASCO_MODEL` picks the model the page starts with ('embedded', a bundle folder or a released
checkpoint name, downloaded on first use with `HF_TOKEN` for the gated ones); it is loaded once,
before the server starts, and the page's model menu offers the others. On Hugging Face Spaces the
same file is the entry point (see docs/spaces.md).
"""
from __future__ import annotations

import logging
import os

from demo.handlers import DemoHandlers
from demo.ui import build_demo, launch_options


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = DemoHandlers(os.environ.get("JASCO_MODEL", "embedded"))
    demo = build_demo(handlers)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **launch_options())


if __name__ == "__main__":
    main()
