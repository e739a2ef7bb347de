"""Serve an app factory with exactly the uvicorn settings `tokensmith serve` uses
(src/tokensmith/cli/main.py), for the experiments beside this file.

    python serve_uvicorn.py MODULE:FACTORY PORT [WORKERS]
"""

import sys

import uvicorn

if __name__ == "__main__":
    factory, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    uvicorn.run(
        factory,
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
