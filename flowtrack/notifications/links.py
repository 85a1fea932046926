"""Absolute links for emails, built from the configured public address, never from the request's Host header.

A reset link built from `Host:` would let anyone who asks for a reset of a
victim's account choose where the victim's token is sent (host header
injection). Production must set FLOWTRACK_BASE_URL; development and tests
fall back to the address the request came in on, and background jobs (which
have no request) to the development server's address.
"""
from __future__ import annotations

import os
from urllib.parse import urljoin

from flask import current_app, has_request_context, request, url_for

from flowtrack.core.regions import link_parameters

DEVELOPMENT_URL = "http://localhost:5000/"  # `flowtrack dev`'s default address


def base_url() -> str:
    configured = current_app.config.get("BASE_URL") or os.environ.get("FLOWTRACK_BASE_URL")
    if configured:
        return configured.rstrip("/") + "/"
    if current_app.config["ENV_NAME"] == "production":
        raise RuntimeError("FLOWTRACK_BASE_URL must be set in production to build links in emails")
    return request.host_url if has_request_context() else DEVELOPMENT_URL


def external_url(endpoint: str, **values) -> str:
    """An absolute link to a page, also from a background job (which has no request to build it from). A link
    built in a region other than the home one names it, so that its landing request finds its rows there."""
    values = {**values, **link_parameters()}
    path = url_for(endpoint, **values) if has_request_context() else \
        current_app.url_map.bind("localhost").build(endpoint, values)
    return urljoin(base_url(), path.lstrip("/"))
