"""The image's HEALTHCHECK: exit 0 when the bot's own endpoint answers 200, else 1.

``python3 healthcheck.py [/readyz|/healthz]`` asks ``http://127.0.0.1:$PORT`` (the slim image has no
curl). Only the standard library, so it runs on the image's plain Python too.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/readyz"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = response.status
    except urllib.error.HTTPError as err:  # 503 while Redis is away or while draining
        status = err.code
    except OSError as err:
        print(f"healthcheck: {url}: {err}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
