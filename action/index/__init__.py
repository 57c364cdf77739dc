"""Package indexes (Test PyPI, PyPI): what they hold, uploading to them, trusted publishing.

    config.py      where an index is (upload, simple API, web root) and how the job logs in
    transport.py   one request, transient failures told apart, the shared retry policy
    reading.py     the simple API (PEP 691 JSON, PEP 503 HTML) and the JSON API's release page:
                   the files held, when a release was opened (the 14-day window), confirmation
    trusted.py     trusted publishing: the OIDC identity exchanged for a short-lived token,
                   its claims (pyjwt, unverified) in the hints
    uploading.py   one upload through twine's Python API; a refusal explained from the answer
    client.py      PackageIndex: a batch made to hold exactly the approved bytes; open_index

The names below are the package's public face; the modules hold the rest.
"""

from action.index.client import Dist, Outcome, PackageIndex, open_index
from action.index.config import (
    ApiToken,
    Credentials,
    IndexConfig,
    IndexName,
    TrustedPublishing,
    project_of,
)
from action.index.reading import parse_simple, parse_simple_html, parse_simple_json
from action.index.trusted import MintedToken, jwt_claims, mint_token
from action.index.uploading import UploadFailure, read_failure

__all__ = [
    "ApiToken",
    "Credentials",
    "Dist",
    "IndexConfig",
    "IndexName",
    "MintedToken",
    "Outcome",
    "PackageIndex",
    "TrustedPublishing",
    "UploadFailure",
    "jwt_claims",
    "mint_token",
    "open_index",
    "parse_simple",
    "parse_simple_html",
    "parse_simple_json",
    "project_of",
    "read_failure",
]
