"""The HTTP calls the runtime probes share, made from outside the container as the
hub's proxy makes them: with internal SSL over mutual TLS, checking the server's
certificate against the spawn's CA and presenting the proxy's client certificate."""

from __future__ import annotations

from typing import Any

import requests

from validator.runtime.spawn import Candidate
from validator.runtime.tls import session_for

HTTP_TIMEOUT = 10.0


def get(url: str, **kwargs: object) -> requests.Response:
    with session_for(url) as session:
        return session.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)  # type: ignore[arg-type]


class Api:
    """Token-authenticated calls to the server's REST API.

    Legacy (non-extension) single-user servers demand an XSRF cookie on POST, PUT and
    DELETE even with a token; on that 403 we fetch a page to get the cookie, as a
    browser would, and retry once.
    """

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.session = candidate.session()
        self.session.headers.update(candidate.auth_headers())

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        url = self.candidate.url + path
        response = self.session.request(method, url, allow_redirects=False, **kwargs)
        if response.status_code == 403 and "_xsrf" in response.text:
            for page in ("lab", "tree", ""):
                self.session.get(self.candidate.url + page, timeout=HTTP_TIMEOUT)
                if "_xsrf" in self.session.cookies:
                    break
            self.session.headers["X-XSRFToken"] = self.session.cookies.get("_xsrf") or ""
            response = self.session.request(method, url, allow_redirects=False, **kwargs)
        return response
