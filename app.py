"""JASCO demo web app: build the page around a pre-loaded model, serve it, then warm up.

    python app.py                       # http://127.0.0.1:7860
    JASCO_MODEL=path/to/bundle python app.py
    GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=8080 python app.py

`JASCO_MODEL` picks the model the page starts with ('embedded', a bundle folder or a released
checkpoint name, downloaded on first use with `HF_TOKEN` for the gated ones); it is loaded once,
before the server starts, and the page's model menu offers the others. The page is served as soon
as it is built; the warm-up (text encoder, codec matrices, audio analyses: what the first request
would otherwise wait for) runs in a background thread after that, and a request arriving during it
waits for it. Each step is logged (INFO). On Hugging Face Spaces the same file is the entry point
(see docs/spaces.md).
"""
from __future__ import annotations

import logging
import os
import time

from demo import runtime
from demo.handlers import DemoHandlers
from demo.ui import build_demo, launch_options

logger = logging.getLogger("jasco-demo")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    model = os.environ.get("JASCO_MODEL", "embedded")
    started = time.perf_counter()
    logger.info("loading the model %s (and the states of the other models)", model)
    handlers = DemoHandlers(model, warm_up=False)
    logger.info("model %s loaded in %.1f s", model, time.perf_counter() - started)
    demo = build_demo(handlers)
    _, url, _ = demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                            server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), prevent_thread_lock=True,
                            **launch_options())
    logger.info("serving on %s (%.1f s after start)", url, time.perf_counter() - started)
    runtime.warm_up_in_background(handlers.models.start)
    demo.block_thread()


if __name__ == "__main__":
    main()
