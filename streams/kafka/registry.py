"""A Confluent Schema Registry client, as much as the encoder needs: register a schema
(``POST /subjects/{subject}/versions``, idempotent: the same schema gets its existing id)
and fetch one by id (``GET /schemas/ids/{id}``), both cached for the process's life.

Subjects follow the RecordNameStrategy (the record's full name, ``io.recon.ledger.
LedgerEntry``): the matches topic carries several record types, which the default
TopicNameStrategy (one schema per topic) cannot describe. Consumers configure the same.
"""

from __future__ import annotations

import json
import threading

import httpx

from streams.errors import ReconError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(ReconError):
    """The Schema Registry refused a schema or could not be reached."""


def subject_of(schema_text: str) -> str:
    """RecordNameStrategy: the record's full name (namespace and name)."""
    doc = json.loads(schema_text)
    name = str(doc["name"])
    namespace = doc.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


class SchemaRegistry:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout, headers={"Content-Type": CONTENT_TYPE})
        self._ids: dict[str, int] = {}
        self._schemas: dict[int, str] = {}
        self._lock = threading.Lock()  # the relay's and the agents' threads share it

    def id_for(self, name: str, schema_text: str) -> int:
        with self._lock:
            known = self._ids.get(schema_text)
        if known is not None:
            return known
        subject = subject_of(schema_text)
        answer = self._call("POST", f"/subjects/{subject}/versions", {"schema": schema_text})
        try:
            schema_id = int(str(answer["id"]))
        except (KeyError, ValueError) as exc:
            raise RegistryError(f"registry at {self.url}: no id for {subject}: {answer}") from exc
        with self._lock:
            self._ids[schema_text] = schema_id
            self._schemas[schema_id] = schema_text
        return schema_id

    def schema_for(self, schema_id: int) -> str:
        with self._lock:
            known = self._schemas.get(schema_id)
        if known is not None:
            return known
        answer = self._call("GET", f"/schemas/ids/{schema_id}", None)
        text = answer.get("schema") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise RegistryError(f"registry at {self.url}: no schema with id {schema_id}")
        with self._lock:
            self._schemas[schema_id] = text
        return text

    def _call(self, method: str, path: str, payload: object) -> dict[str, object]:
        try:
            response = self._client.request(method, self.url + path, json=payload)
        except httpx.HTTPError as exc:
            raise RegistryError(f"registry at {self.url} unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise RegistryError(
                f"registry at {self.url}: {method} {path}: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )
        answer = response.json()
        if not isinstance(answer, dict):
            raise RegistryError(f"registry at {self.url}: {method} {path}: {answer!r}")
        return answer

    def close(self) -> None:
        self._client.close()
