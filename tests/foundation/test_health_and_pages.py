"""Health check, the base layout, HTMX partials and response headers."""
import re
from pathlib import Path


def test_health_is_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_is_503_when_the_database_is_down(app_factory):
    broken = app_factory(APP_DATABASE_URL="postgresql+psycopg://flowtrack_app@127.0.0.1:1/nowhere")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"


def test_health_is_503_when_redis_is_down(app_factory):
    broken = app_factory(REDIS_URL="redis://127.0.0.1:1/0")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["redis"] == "unreachable"


def test_the_layout_carries_csrf_meta_htmx_config_and_a_phone_viewport(admin):
    page = admin.get("/dashboard/").text
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page)
    assert '"allowEval": false' in page and '"selfRequestsOnly": true' in page
    assert '"allowScriptTags": false' in page and '"includeIndicatorStyles": false' in page
    # htmx settles a swapped element's style by setting the attribute, which the CSP refuses: it settles no style.
    assert '"attributesToSettle": ["class", "width", "height"]' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "/static/htmx.min.js" in page
    # No inline script and no hx-on: the CSP forbids both.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "hx-on" not in page


def test_responses_carry_security_headers_and_vary_on_htmx(admin):
    response = admin.get("/dashboard/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_the_session_cookie_is_httponly_and_samesite_lax(client, acme):
    office = acme.members["manager"]
    response = client.submit("/login", {"email": office.email, "password": office.password})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_htmx_gets_only_the_rows_partial_for_older_audit_entries(admin, acme, app):
    from flowtrack.audit import services as audit

    with app.extensions["flowtrack.db"].service() as s:
        for _ in range(55):
            audit.record(s, "device.viewed", company_id=acme.id)
        s.commit()
    full = admin.get("/audit/")
    older = re.search(r'hx-get="(/audit/\?before=\d+)"', full.text).group(1)
    partial = admin.htmx("get", older)
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<tr>" in partial.text
    assert "<html" in admin.get(older).text


def test_unknown_pages_get_a_404_page_not_a_traceback(admin):
    response = admin.get("/no/such/page")
    assert response.status_code == 404 and "Not found" in response.text


def test_an_unexpected_error_gets_a_500_page_that_leaks_nothing(app_factory, acme):
    fresh = app_factory()

    @fresh.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    boom.required_permission = "public"
    response = fresh.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text


# Without zstd, which Python itself only brings from 3.14: Brotli is the answer then, and always installed.
BROWSER_ENCODINGS = "gzip, deflate, br"


def test_a_phone_gets_the_static_files_compressed_and_each_unchanged_once_unpacked(client, app):
    import brotli

    unpack = {"br": brotli.decompress}
    for name in ("htmx.min.js", "app.css", "app.js"):
        original = (Path(app.static_folder) / name).read_bytes()
        response = client.get(f"/static/{name}", headers={"Accept-Encoding": BROWSER_ENCODINGS})
        encoding = response.headers["Content-Encoding"]
        body = response.get_data()
        assert unpack[encoding](body) == original and len(body) < len(original) / 2
        assert "Accept-Encoding" in response.headers["Vary"] and response.headers["X-Content-Type-Options"] == "nosniff"
        again = client.get(f"/static/{name}", headers={"Accept-Encoding": BROWSER_ENCODINGS,
                                                      "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    plain = client.get("/static/app.css", headers={"Accept-Encoding": "identity"})
    assert ("Content-Encoding" not in plain.headers
            and plain.get_data() == (Path(app.static_folder) / "app.css").read_bytes())


def test_pages_are_never_compressed_so_their_csrf_token_cannot_be_guessed_by_size(admin):
    for path in ("/dashboard/", "/customers/?q=harbor", "/audit/"):
        response = admin.get(path, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        assert response.status_code == 200 and "Content-Encoding" not in response.headers
