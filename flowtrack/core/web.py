"""Per-request plumbing: what was sent is text, the tenant-bound DB session, permission checks (deny by default),
security headers and error pages."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from flowtrack.core import permissions
from flowtrack.core.db import Database
from flowtrack.core.extensions import compress, login_manager
from flowtrack.core.regions import current_region
from flowtrack.core.storage import StoredFileMissing, file_storage
from flowtrack.core.templating import is_fragment

CSP = (
    # blob: media: a voice note recorded on the test form is played back from the phone before it is sent.
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)


def with_images_from(url_template: str) -> str:
    """The CSP of a page that also shows pictures from another server (a map's tiles): its origin joins img-src, a
    tile server's "{s}" subdomains as a wildcard. Nothing else loosens."""
    parts = urlsplit(url_template.replace("{s}", "subdomain"))
    host = parts.netloc.replace("subdomain", "*", 1) if "{s}" in url_template else parts.netloc
    return CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {parts.scheme}://{host}")


def get_db() -> Database:
    """The database of the region the request (or job) is in (core/regions.py)."""
    return current_region().db


def client_ip() -> str | None:
    return request.remote_addr


@login_manager.unauthorized_handler
def _unauthorized():
    if request.accept_mimetypes.best == "application/json":  # the phone's outbox: it asks the person to sign in
        return current_app.response_class('{"status": "signin"}', status=401, mimetype="application/json")
    if is_fragment():
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


# What PostgreSQL cannot hold in a text column: NUL, and half of a UTF-16 pair (a JSON "\\ud800" escape decodes to
# one; a whole pair decodes to its character).
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
NOT_TEXT_MESSAGE = ("{where} holds a character that is not text (a NUL byte, or half of a two-part character "
                    "such as an emoji), so nothing was done. Retype it without that character and try again.")


def _holds_no_text(value: Any) -> bool:
    """True when a string, or any key or string inside a JSON value, holds what PostgreSQL cannot store."""
    if isinstance(value, str):
        return NOT_TEXT.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_no_text(key) or _holds_no_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_no_text(item) for item in value)
    return False


def _unreadable_part() -> str | None:
    """Which part of the request is not text, in words, or None: the address, a form field's name or value (in
    either encoding), an uploaded file's name, a JSON body. An uploaded file's own bytes are not looked at (a photo
    holds NUL bytes)."""
    try:
        query = request.args
    except UnicodeDecodeError:  # raw bytes that are no UTF-8 (a percent-encoded one is kept as typed)
        return "The address"
    if NOT_TEXT.search(request.path) or any(_holds_no_text(name) or _holds_no_text(value)
                                            for name, value in query.items(multi=True)):
        return "The address"
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if any(_holds_no_text(name) or _holds_no_text(value) for name, value in request.form.items(multi=True)):
        return "The form"
    if any(_holds_no_text(name) or _holds_no_text(upload.filename or "")
           for name, upload in request.files.items(multi=True)):
        return "The name of an uploaded file"
    if request.is_json and _holds_no_text(request.get_json(silent=True)):
        return "The data sent"
    return None


def _refuse_what_is_not_text():
    """One check for every view: text PostgreSQL would refuse (a NUL, a lone surrogate) is a 400 that says so,
    before anything reads it, instead of a database error (a 500) in whichever query meets it first."""
    where = _unreadable_part()
    if where is None:
        return None
    return render_error(400, NOT_TEXT_MESSAGE.format(where=where))


def open_db_session() -> None:
    """The request's app-role session (a vendor's person's: the vendor role's), carrying the login token (opened
    once, on first need)."""
    if "db" not in g:
        g.db = get_db().app_session(token=session.get("sid"), vendor=session.get("vendor", False))


def _enforce_permission():
    """Refuse by default: a view must declare a permission (or be public)."""
    if request.endpoint is None:
        return None  # 404 / 405 are answered by Flask
    if request.endpoint in permissions.PUBLIC_ENDPOINTS:
        return None
    needed = permissions.declared_permission(current_app.view_functions.get(request.endpoint))
    if needed is None:
        return render_error(403)
    if needed == permissions.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not permissions.person_allowed(current_user.role, needed, may_see_invoices=current_user.may_see_invoices):
        return render_error(403)
    return None


def _close_db_session(_exc) -> None:
    db_session = g.pop("db", None)
    if db_session is not None:
        db_session.close()


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["ENV_NAME"] == "production":
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    # Pages answer a full document or an HTMX fragment for the same URL; caches must tell them apart.
    response.vary.add("HX-Request")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _compress_static_files(response):
    """Static files only. Pages carry the CSRF token and some echo what was typed (a search), so a compressed
    page would let an attacker who can add text to it guess the token by its length (BREACH)."""
    if request.endpoint == "static":
        return compress.after_request(response)
    return response


ERROR_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Wrong kind of request",
    410: "No longer available",
    413: "Upload too large",
    422: "Not accepted",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Try again in a minute",
}


def render_error(status: int, message: str | None = None):
    title = ERROR_TITLES.get(status, "Error")
    template = "errors/_error.html" if is_fragment() else "errors/error.html"
    try:
        return render_template(template, status=status, title=title, message=message), status
    except Exception:
        # The layout needs the signed-in user, hence the database; when that is what failed, a page
        # rendered without the context processors (which load the user) still answers.
        current_app.logger.exception("error page %s could not render the layout", status)
        page = current_app.jinja_env.get_template("errors/standalone.html")
        return page.render(status=status, title=title, message=message), status


def _handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    message = None
    if isinstance(error, CSRFError):
        message = "Your form expired or was sent from another page. Reload the page and try again."
    elif error.code == 429:
        message = "Too many attempts. Wait a little and try again."
    elif error.description != type(error).description:
        message = error.description  # the view's own words: abort(400, "Not a date.")
    response = make_response(render_error(error.code, message))
    # What the exception says besides its page: Allow on a 405, Retry-After where given.
    response.headers.extend((name, value) for name, value in error.get_headers() if name.lower() != "content-type")
    return response


def _handle_database_gone(error: sa.exc.DBAPIError):
    """The database went away in the middle of the request (restarted, failed over, the network dropped): the
    request's transaction did not commit; the pool checks connections before use, so the next request reconnects.
    Any other database error is a fault like any other."""
    if not (error.connection_invalidated or isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError))):
        return _handle_unexpected(error)
    current_app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, error.orig)
    response = make_response(render_error(503, "FlowTrack lost its connection to its database. What this page was "
                                               "saving when it happened was not saved: try again in a minute."))
    response.headers["Retry-After"] = "30"
    return response


def _handle_unexpected(error: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500)


def _require_https():
    """In production a plain-HTTP request is sent to the same URL over HTTPS, before anything else runs."""
    if request.is_secure or current_app.config["ENV_NAME"] != "production":
        return None
    if request.endpoint == "home.healthz":
        return None  # load balancers probe it over plain HTTP inside the network; it shows no data
    # 308 keeps the method and body of a form post; GETs get the widely cached 301.
    code = 301 if request.method in ("GET", "HEAD") else 308
    return redirect(request.url.replace("http://", "https://", 1), code=code)


def init_app(app: Flask) -> None:
    hops = app.extensions["flowtrack.settings"].proxy_fix
    if hops:
        # The client's address and scheme as the trusted proxies saw them; X-Forwarded-Host is not
        # trusted, since a proxy that does not set it would pass on whatever the client sent.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to wrap it
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    # First of all before-request hooks, ahead of the CSRF check and rate limits the extensions added.
    app.before_request_funcs.setdefault(None, []).insert(0, _require_https)
    # Then, ahead of the CSRF check (which reads the form) and anything that could carry the text to the database.
    app.before_request_funcs[None].insert(1, _refuse_what_is_not_text)
    app.before_request(open_db_session)
    app.before_request(_enforce_permission)
    app.teardown_request(_close_db_session)
    app.after_request(_security_headers)
    app.after_request(_compress_static_files)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(sa.exc.DBAPIError, _handle_database_gone)
    app.register_error_handler(Exception, _handle_unexpected)


def stored_picture(key: str, mimetype: str = "image/jpeg") -> Response:
    """A stored picture (a photo, re-encoded as JPEG when it was kept; a drawn signature, a PNG), for the browser
    of someone already allowed to see it; kept by the browser for a day, never by a shared cache."""
    try:
        data = file_storage().get(key)
    except StoredFileMissing:
        abort(404)
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
