"""A small typed client of the catalog and the registry endpoints the paved road needs."""

from __future__ import annotations

import re
from typing import Any, Self
from urllib.parse import quote

import httpx

from streammesh.products.catalog import DataProductPublic
from streammesh.products.descriptor import Descriptor
from streammesh.sdk.errors import (
    CatalogError,
    ProductNotFoundError,
    ProductRefError,
    RegistryUnavailableError,
)

#: Confluent's error code for "data product not found".
PRODUCT_NOT_FOUND = 40470
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403

_NAME = re.compile(
    r"^(?P<domain>[a-z][a-z0-9_]*)\.(?P<name>[a-z][a-z0-9_]*)(?:\.v(?P<major>\d+))?$"
)

JsonObject = dict[str, Any]


def parse_product(text: str, major: int | None = None) -> tuple[str, str, int | None]:
    """`<domain>.<product>` (with `major`, or None for the latest) or `<domain>.<product>.v<N>`.

    Raises `ProductRefError` when the text is neither, or names a major twice differently.
    """
    match = _NAME.match(text)
    if match is None:
        raise ProductRefError(
            f"{text!r} is not a product: write <domain>.<product> or <domain>.<product>.v<major>"
        )
    written = int(match["major"]) if match["major"] is not None else None
    if written is not None and major is not None and written != major:
        raise ProductRefError(f"{text!r} names major {written}, but --major says {major}")
    if written is not None and written < 1:
        raise ProductRefError(f"{text!r}: a major version starts at 1")
    return match["domain"], match["name"], written if written is not None else major


#: A product as the catalog describes it.
Product = DataProductPublic


class CatalogClient:
    """HTTP client of the registry's catalog (`/products`) and the few registry calls the CLI
    makes directly (compatibility, lookup, latest version). Errors raise `CatalogError`."""

    def __init__(
        self,
        url: str,
        *,
        user_info: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        auth: tuple[str, str] | None = None
        if user_info:
            user, _, password = user_info.partition(":")
            auth = (user, password)
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/vnd.schemaregistry.v1+json, application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- transport

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(f"registry at {self.url} is unreachable: {exc}") from exc
        if response.is_success:
            return response.json()
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("error_code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        text = f"{method} {path}: HTTP {response.status_code}: {message or response.text}"
        error = ProductNotFoundError if code == PRODUCT_NOT_FOUND else CatalogError
        raise error(text, status=response.status_code, error_code=code)

    def ping(self) -> bool:
        """Whether the registry answers at all."""
        try:
            self._http.get("/", timeout=2.0)
        except httpx.TransportError:
            return False
        return True

    # --- catalog

    def product(self, domain: str, name: str, major: int | None = None) -> Product:
        params = {"major": major} if major is not None else {}
        data = self._request("GET", f"/products/{domain}/{name}", params=params)
        return Product.model_validate(data)

    def find_product(self, domain: str, name: str, major: int | None = None) -> Product | None:
        try:
            return self.product(domain, name, major)
        except ProductNotFoundError:
            return None

    def products(
        self,
        *,
        domain: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> list[Product]:
        given = {"domain": domain, "tag": tag, "status": status, "q": text}
        params = {k: v for k, v in given.items() if v is not None}
        data = self._request("GET", "/products", params=params)
        return [Product.model_validate(item) for item in data]

    def put_product(
        self, descriptor: Descriptor, value_schema: str, key_schema: str | None
    ) -> Product:
        body: JsonObject = {
            "descriptor": descriptor.model_dump(mode="json", by_alias=True),
            "valueSchema": value_schema,
        }
        if key_schema is not None:
            body["keySchema"] = key_schema
        path = f"/products/{descriptor.domain}/{descriptor.name}"
        return Product.model_validate(self._request("PUT", path, json=body))

    def lineage(self, domain: str, name: str, major: int | None = None) -> JsonObject:
        params = {"major": major} if major is not None else {}
        result: JsonObject = self._request(
            "GET", f"/products/{domain}/{name}/lineage", params=params
        )
        return result

    def impact(self, domain: str, name: str, schema: str, major: int | None = None) -> JsonObject:
        body: JsonObject = {"schema": schema}
        if major is not None:
            body["major"] = major
        result: JsonObject = self._request("POST", f"/products/{domain}/{name}/impact", json=body)
        return result

    def deprecate(
        self,
        domain: str,
        name: str,
        *,
        sunset: str,
        successor: str,
        note: str | None = None,
        major: int | None = None,
    ) -> Product:
        body: JsonObject = {"sunset": sunset, "successor": successor, "note": note}
        if major is not None:
            body["major"] = major
        path = f"/products/{domain}/{name}/deprecate"
        return Product.model_validate(self._request("POST", path, json=body))

    # --- registry

    def latest_version(self, subject: str) -> JsonObject | None:
        """The subject's latest version (`schema`, `id`, `version`, `metadata`, `ruleSet`)."""
        try:
            result: JsonObject = self._request(
                "GET", f"/subjects/{quote(subject, safe='')}/versions/latest"
            )
        except CatalogError as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                return None
            raise
        return result

    def lookup(self, subject: str, schema: str) -> JsonObject | None:
        """The version of `subject` holding `schema`, or None."""
        try:
            result: JsonObject = self._request(
                "POST",
                f"/subjects/{quote(subject, safe='')}",
                json={"schema": schema, "schemaType": "AVRO"},
            )
        except CatalogError as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND):
                return None
            raise
        return result

    def compatibility(self, subject: str, schema: str) -> tuple[bool, list[str]] | None:
        """Whether `schema` may follow the subject's registered versions (None: no subject)."""
        try:
            result = self._request(
                "POST",
                f"/compatibility/subjects/{quote(subject, safe='')}/versions",
                params={"verbose": "true"},
                json={"schema": schema, "schemaType": "AVRO"},
            )
        except CatalogError as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                return None
            raise
        return bool(result.get("is_compatible")), list(result.get("messages") or [])
