"""`python -m examples.accounts_api`: serve the accounts API with uvicorn on
ACCOUNTS_HOST:ACCOUNTS_PORT (default 127.0.0.1:8081)."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "examples.accounts_api.app:app",
        host=os.environ.get("ACCOUNTS_HOST", "127.0.0.1"),
        port=int(os.environ.get("ACCOUNTS_PORT", "8081")),
        # uvicorn's access log prints the request line, query string included: a
        # client that wrongly puts its token in the URL would have it logged.
        access_log=False,
    )
