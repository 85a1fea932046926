"""Error pages through HTTP: each status gets our page with a plain explanation and leaks nothing."""
import re

import sqlalchemy as sa

from flowtrack.core.permissions import public
from flowtrack.models.exports import Export

# What a leaking error page would show: tracebacks, exception names, framework pages, source paths, SQL.
LEAKS = re.compile(r"Traceback|File \"|Error:|Exception|werkzeug|Werkzeug|psycopg|sqlalchemy|SELECT |"
                   r"flowtrack/|site-packages|Debugger|127\.0\.0\.1|flowtrack_app|secret", re.IGNORECASE)


def assert_our_page(response, status: int, *phrases: str):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.text
    assert f"{status} · " in page, page[:500]
    assert 'href="/"' in page  # the way back
    assert LEAKS.search(page) is None, LEAKS.search(page).group(0)
    for phrase in phrases:
        assert phrase in page


def test_a_form_without_its_csrf_token_is_a_400_that_says_why(client):
    response = client.post("/login", data={"email": "someone@example.com", "password": "x"})
    assert_our_page(response, 400, "Your form expired or was sent from another page")


def test_a_page_the_role_may_not_see_is_a_403(office):
    assert_our_page(office.get("/team/"), 403, "Your role does not allow this page or action.")


def test_an_unknown_address_and_another_companys_record_are_404(admin, acme, bravo, factory):
    assert_our_page(admin.get("/no/such/page"), 404, "There is nothing here, or it is not yours to see.")
    export = factory.finished_export(bravo)
    assert_our_page(admin.get(f"/account/export/{export.id}/download"), 404)


def test_a_method_the_address_does_not_take_is_a_405(admin):
    response = admin.get("/logout")
    assert_our_page(response, 405, "This address does not accept that kind of request.")
    assert "POST" in response.headers["Allow"]


def test_an_expired_download_is_a_410(app, admin, acme, factory):
    export = factory.finished_export(acme)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(Export).where(Export.id == export.id).values(expires_at=sa.func.now()))
        s.commit()
    assert_our_page(admin.get(f"/account/export/{export.id}/download"), 410, "no longer available")


def test_a_body_over_the_upload_limit_is_a_413(app, admin):
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = admin.post("/team/invite", data=too_big, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                 "X-CSRFToken": admin.csrf_token()})
    assert_our_page(response, 413, "25 MB")


def test_too_many_requests_is_a_429(client):
    statuses = [client.get("/security/").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert_our_page(client.get("/security/"), 429, "Too many attempts. Wait a little and try again.")


def test_htmx_requests_get_the_error_as_a_fragment(office):
    response = office.htmx("get", "/team/")
    assert response.status_code == 403
    assert "<html" not in response.text and "403 · " in response.text


def test_a_crash_is_a_500_that_shows_nothing_of_the_error_and_logs_it(app_factory, caplog):
    app = app_factory()

    @app.get("/crash")
    @public
    def crash():
        raise RuntimeError("secret detail: password=hunter2 at flowtrack/internal.py")

    response = app.test_client().get("/crash")
    assert_our_page(response, 500, "The error has been logged.")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert "RuntimeError: secret detail" in caplog.text


def test_the_database_out_of_reach_is_a_try_again_page_that_names_no_host(app_factory, acme):
    # The app role's URL points at a closed port: every query of a signed-in request fails with
    # a driver error that names the host, the port and the role; the page says none of it.
    app = app_factory(APP_DATABASE_URL="postgresql+psycopg://flowtrack_app@127.0.0.1:1/nowhere")
    browser = app.test_client()
    browser.sign_in_as(acme.members["manager"])
    response = browser.get("/dashboard/")
    assert_our_page(response, 503, "lost its connection to its database", "try again in a minute")
    assert response.headers["Content-Security-Policy"] and response.headers["Retry-After"] == "30"
