"""Where the LINE platform lives: overridable so tests and proxies can point elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_API = "CRM_LINE_API_URL"
ENV_DATA_API = "CRM_LINE_DATA_API_URL"
ENV_LOGIN = "CRM_LINE_LOGIN_URL"

DEFAULT_API = "https://api.line.me"
DEFAULT_DATA_API = "https://api-data.line.me"
DEFAULT_LOGIN = "https://access.line.me"


@dataclass(frozen=True)
class Endpoints:
    api: str = DEFAULT_API
    data_api: str = DEFAULT_DATA_API
    login: str = DEFAULT_LOGIN

    @classmethod
    def from_env(cls) -> "Endpoints":
        def _get(name: str, default: str) -> str:
            return (os.environ.get(name) or default).rstrip("/")

        return cls(api=_get(ENV_API, DEFAULT_API), data_api=_get(ENV_DATA_API, DEFAULT_DATA_API),
                   login=_get(ENV_LOGIN, DEFAULT_LOGIN))
