"""Building boto3 clients the same way for every AWS adapter (SQS, S3).

The standard AWS configuration applies (endpoint variables, profiles,
credentials), plus ``AWS_REGION``, which botocore alone ignores; a configuration
that cannot make a client is a `ConfigurationError` that says what to set.

Our clients are botocore's, unchanged, whatever else the process imports: they
are built from a session of boto3's own class, and a client whose API methods
another library replaced is refused (see `refuse_altered_client`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import boto3
from boto3.session import Session
from botocore.client import BaseClient
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


def _boto3_session_class() -> type[Session]:
    """Return boto3's own `Session` class, even if a library put another in its place.

    amazon-sqs-extended-client, once imported, replaces ``boto3.session.Session``
    (and ``boto3.Session``) with a subclass whose sessions change every SQS client
    they make; so the class is found by its origin, not by its public name.
    """
    for cls in boto3.session.Session.__mro__:
        if cls.__module__ == "boto3.session" and cls.__qualname__ == "Session":
            return cast("type[Session]", cls)
    return boto3.session.Session  # replaced by an unrelated class: refuse_altered_client judges


def session_and_region(session: Session | None, region: str | None) -> tuple[Session, str | None]:
    """Return the session to build a client from, and the region to give it.

    A new session is of boto3's own class, with a botocore session of its own: what
    other libraries register on theirs (or on boto3's default session) is not there.
    """
    session = session or _boto3_session_class()()
    if region is None and not session.region_name:
        # botocore reads only AWS_DEFAULT_REGION; the other AWS SDKs read AWS_REGION.
        region = os.environ.get("AWS_REGION")
    return session, region


def refuse_altered_client(owner: str, client: BaseClient, *, given: bool) -> None:
    """Refuse a client whose API methods are not those botocore made.

    A library may change every client of a service made in the process: once
    imported, amazon-sqs-extended-client decorates each SQS client so that its
    receives fetch offloaded bodies from S3 and rewrite receipt handles, while its
    deletes restore the handles only on a client set up for it. A worker on such
    a client runs a task, fails to delete its message and runs it on every delivery.
    Wrappers that keep the method's origin (``functools.wraps``, ``wrapt``) and
    patches of ``BaseClient._make_api_call`` (tracing libraries') are not refused.

    Args:
        owner: the adapter, as the message names it.
        client: the client to check.
        given: whether the caller passed the client or its session (the message
            then says how to do without), rather than the adapter building it.

    Raises:
        ConfigurationError: some API method of ``client`` is not botocore's.
    """
    replaced: dict[str, list[str]] = {}
    for name in sorted(client.meta.method_to_api_mapping):
        module = getattr(getattr(client, name, None), "__module__", None)
        if module != "botocore.client":
            replaced.setdefault(module or "unknown code", []).append(name)
    if not replaced:
        return
    by = "; ".join(f"{', '.join(names)} by {module}" for module, names in replaced.items())
    remedy = (
        f"Let {owner} build its own client instead (pass endpoint_url= and region=, or "
        "nothing, rather than client= or session=): it uses a boto3 session of its own, "
        "which such libraries do not reach."
        if given
        else f"{owner} built this client from a session of its own, so the change is made "
        "below boto3's sessions, where it cannot be avoided: run the worker (or producer) "
        f"in a process that does not import {', '.join(replaced)}."
    )
    raise ConfigurationError(
        f"{owner} cannot use this client: other code replaced its methods ({by}), as "
        "amazon-sqs-extended-client does to every SQS client once imported. Such a client "
        "may rewrite the messages and receipt handles a worker receives, so that its "
        f"deletes fail and tasks run again. {remedy}"
    )


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
