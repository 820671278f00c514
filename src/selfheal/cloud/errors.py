"""Errors of the local cloud's Lambda service, each carrying the AWS error code and HTTP status it maps to."""

from __future__ import annotations

__all__ = [
    "CloudError",
    "FunctionNotFound",
    "InvalidParameterValue",
    "InvalidRequestContent",
    "ServiceUnavailable",
    "TooManyRequests",
]


class CloudError(Exception):
    """Base error: ``code`` is AWS's error code, ``status`` the HTTP status AWS answers with."""

    code = "ServiceException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FunctionNotFound(CloudError):
    """The function (or the qualified version) does not exist."""

    code = "ResourceNotFoundException"
    status = 404


class TooManyRequests(CloudError):
    """The invocation was throttled: reserved or global concurrency is exhausted."""

    code = "TooManyRequestsException"
    status = 429


class InvalidRequestContent(CloudError):
    """The payload is not valid JSON, or the invocation type is unknown."""

    code = "InvalidRequestContentException"
    status = 400


class ServiceUnavailable(CloudError):
    """The Lambda service is shutting down or not started (the base's ``ServiceException``, 500)."""


class InvalidParameterValue(CloudError):
    """A request parameter (e.g. the invocation type) has a value Lambda does not accept."""

    code = "InvalidParameterValueException"
    status = 400
