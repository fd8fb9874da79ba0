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
from botocore.exceptions import BotoCoreError

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


@contextmanager
def client_configuration(service: str) -> Iterator[None]:
    """Turn botocore's refusal to make a client (no region, unknown profile) into ours.

    Raises:
        ConfigurationError: what botocore raised, with the settings to check.
    """
    try:
        yield
    except BotoCoreError as exc:
        raise ConfigurationError(
            f"Cannot make an {service} client: {exc}. Set the AWS region and credentials "
            "(AWS_REGION, AWS_PROFILE, ...) or pass region= and endpoint_url=."
        ) from exc
