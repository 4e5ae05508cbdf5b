"""Errors as OpenAI's API reports them: a status code and `{"error": {message, type, param, code}}`,
so OpenAI clients raise their usual exception types (BadRequestError, NotFoundError, …)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class APIError(Exception):
    """A request the server answers with an error instead of a completion."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type, code, param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def busy(message: str, retry_after: int, *, status: int = 429) -> APIError:
    """The queue is full (429) or the server is shutting down (503): come back in `retry_after` s."""
    kind = "rate_limit_error" if status == 429 else "service_unavailable"
    return APIError(status, message, type=kind, code=kind, headers={"Retry-After": str(retry_after)})
