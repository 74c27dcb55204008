"""A partner follows the network's change feed, cheaply: ETag and If-None-Match give 304.

Environment: RECNET_URL, RECNET_CLIENT_ID, RECNET_CLIENT_SECRET (a partner client, feeds:read).
Pulls every page of /v1/feeds/changes, prints what changed, then pulls again with If-None-Match
to show that nothing new answers 304 Not Modified.
"""

from __future__ import annotations

import json
import os

import httpx


def main() -> None:
    url = os.environ.get("RECNET_URL", "http://127.0.0.1:8000").rstrip("/")
    with httpx.Client(base_url=url, timeout=60) as http:
        token = http.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(os.environ["RECNET_CLIENT_ID"], os.environ["RECNET_CLIENT_SECRET"]),
        )
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        cursor: str | None = None  # a real replica stores this between runs
        while True:
            params = {"limit": "100", **({"after": cursor} if cursor else {})}
            page = http.get("/v1/feeds/changes", params=params)
            page.raise_for_status()
            document = page.json()
            for item in document["items"]:
                record = item.get("record")
                if isinstance(record, dict):
                    title = record.get("document", {}).get("title", {}).get("en", "")
                    print(f"{item['type']}: {record.get('kind', '')} {record.get('id')} {title}")
                else:
                    rest = {k: v for k, v in item.items() if k != "type"}
                    print(f"{item['type']}: {json.dumps(rest, ensure_ascii=False)[:100]}")
            print(f"pulled {page.status_code}: {len(document['items'])} item(s)")
            cursor = document["next_cursor"]
            if not document["has_more"]:
                break

        # Polling from the last cursor: the empty answer carries an ETag; asking again with
        # If-None-Match answers 304 Not Modified (no body) until something new is visible.
        params = {"limit": "100", "after": cursor}
        first = http.get("/v1/feeds/changes", params=params)
        etag = first.headers.get("etag", "")
        print(f"first pull after {cursor}: {first.status_code}, {len(first.json()['items'])} new")
        again = http.get("/v1/feeds/changes", params=params, headers={"If-None-Match": etag})
        note = " Not Modified" if again.status_code == 304 else ""
        print(f"second pull: {again.status_code}{note}")


if __name__ == "__main__":
    main()
