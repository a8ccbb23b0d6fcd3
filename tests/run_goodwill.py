"""``python -m tests.run_goodwill ARGS``: the real ``goodwill`` CLI, with channels of network
``outbox`` sent to the loopback test network (``$GOODWILL_TESTNET_URL``) instead of a file."""

from __future__ import annotations

import sys

import connectors
from goodwill.cli import main

if __name__ == "__main__":
    connectors.REGISTRY["outbox"] = "tests.netconnector:NetConnector"
    sys.exit(main())
