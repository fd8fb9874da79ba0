"""Building boto3 clients the same way for every AWS adapter (SQS, S3).

The standard AWS configuration applies (endpoint variables, profiles,
credentials), plus ``AWS_REGION``, which botocore alone ignores; a configuration
that cannot make a client is a `ConfigurationError` that says what to set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from boto3.session import Session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, NoRegionError

from simple_worker.domain._errors import ConfigurationError


def refuse_client_with_options(owner: str, client: object, *options: object) -> None:
    """Refuse a ready-made client given together with options for building one.

    Raises:
        ConfigurationError: ``client`` and any of ``options`` are both given.
    """
    if client is not None and any(option is not None for option in options):
        raise ConfigurationError(
            f"{owner} takes either a client or the options to build one "
            "(session, endpoint_url, region, config), not both."
        )


def session_and_region(session: Session | None, region: str | None) -> tuple[Session, str | None]:
    """Return the session to build a client from, and the region to give it."""
    session = session or boto3.session.Session()
    if region is None and not session.region_name:
        # botocore reads only AWS_DEFAULT_REGION; the other AWS SDKs read AWS_REGION.
        region = os.environ.get("AWS_REGION")
    return session, region


def merged_config(defaults: Config, config: Config | None) -> Config:
    """Return ``config`` merged over an adapter's ``defaults``."""
    return defaults if config is None else defaults.merge(config)


# How App's options are spelled, per service: what a message tells the user to pass.
_OPTIONS = {
    "SQS": ("App(sqs_region=...)", "App(sqs_endpoint_url=...)"),
    "S3": ("App(sqs_region=...)", "App(s3_endpoint_url=...)"),
}


@contextmanager
def client_configuration(service: str, endpoint_url: str | None = None) -> Iterator[None]:
    """Turn botocore's refusal to make a client (no region, bad endpoint) into ours.

    ``endpoint_url`` is the one given in code, if any: a message about an invalid
    endpoint names where it came from (the option, or the variable that set it).

    Raises:
        ConfigurationError: what botocore raised, with the settings to check.
    """
    region_option, endpoint_option = _OPTIONS.get(service, ("region=", "endpoint_url="))
    try:
        yield
    except NoRegionError as exc:
        raise ConfigurationError(
            f"Cannot make an {service} client: no AWS region is configured. Set AWS_REGION "
            f"(or AWS_DEFAULT_REGION, or region in ~/.aws/config), or pass {region_option}."
        ) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(
            f"Cannot make an {service} client: {sentence(str(exc))}. Check the AWS "
            f"configuration (AWS_REGION, AWS_PROFILE, ~/.aws/config), or pass "
            f"{region_option} and {endpoint_option}."
        ) from exc
    except ValueError as exc:
        if not str(exc).startswith("Invalid endpoint"):
            raise
        source = _endpoint_source(service, endpoint_url, endpoint_option)
        raise ConfigurationError(
            f"Cannot make an {service} client: {source} is not a valid endpoint URL. Give "
            "the scheme and host, e.g. http://127.0.0.1:4566 for a local emulator, or "
            "https://sqs.eu-west-1.amazonaws.com."
        ) from exc


def _endpoint_source(service: str, endpoint_url: str | None, option: str) -> str:
    """Say where the endpoint came from: the option, or the variable that set it."""
    if endpoint_url is not None:
        return f"{option.removesuffix('...)')}{endpoint_url!r})"
    for variable in (f"AWS_ENDPOINT_URL_{service}", "AWS_ENDPOINT_URL"):
        if os.environ.get(variable):
            return f"{variable}={os.environ[variable]!r}"
    return "the endpoint_url of the AWS configuration (AWS_PROFILE's profile in ~/.aws/config)"


def sentence(text: str) -> str:
    """Return ``text`` without its final full stops, to end it with one's own punctuation."""
    return text.rstrip().rstrip(".")
