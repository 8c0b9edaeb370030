"""Stages run in a child process so that their peak RSS is theirs alone.

``python -m streams.tools.bench.child ingest pos FILE`` ingests with the settings of the
environment (see ``streams.tools.batch.worker_env``) and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import cast

from streams.ingest.producer import Kind, ingest_file
from streams.settings import Settings


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[0] != "ingest":
        raise SystemExit("usage: python -m streams.tools.bench.child ingest pos|promotions FILE")
    result = ingest_file(Settings(), Path(argv[2]), cast(Kind, argv[1]))
    print(
        json.dumps(
            {
                "rows_read": result.rows_read,
                "rows_published": result.rows_published,
                "bytes_read": result.bytes_read,
                "seconds": result.seconds,
                "run_id": result.run_id,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
