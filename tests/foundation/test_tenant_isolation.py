"""Two independent layers keep companies apart; each is tested alone and together."""
import uuid

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from flowtrack.models.accounts import Profile


def _app_connection(app):
    return app.extensions["flowtrack.db"].app_engine.connect()


def _count_profiles(connection, company_id):
    return connection.execute(sa.text("SELECT count(*) FROM profiles WHERE company_id = :c"),
                              {"c": company_id}).scalar()


def test_without_a_session_token_the_app_role_sees_no_rows_at_all(app, acme):
    with _app_connection(app) as c:
        assert c.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == 0
        assert c.execute(sa.text("SELECT count(*) FROM companies")).scalar() == 0
        assert c.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_a_forged_company_setting_reveals_nothing(app, acme, bravo):
    with _app_connection(app) as c:
        c.execute(sa.text("SELECT set_config('app.company_id', :c, false)"), {"c": str(bravo.id)})
        c.execute(sa.text("SELECT set_config('app.tenant', :c, false)"), {"c": str(bravo.id)})
        assert _count_profiles(c, bravo.id) == 0


def test_sql_injection_that_sets_settings_still_sees_only_its_own_company(app, factory, acme, bravo):
    token = factory.session_token(acme.members["manager"])
    with _app_connection(app) as c:
        with c.begin():
            c.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
            c.execute(sa.text("SET LOCAL app.company_id = '%s'" % bravo.id))
            assert _count_profiles(c, acme.id) == len(acme.members)
            assert _count_profiles(c, bravo.id) == 0
            assert c.execute(sa.text("SELECT count(*) FROM companies")).scalar() == 1


def test_a_guessed_token_gives_nothing(app, acme):
    with _app_connection(app) as c:
        with c.begin():
            c.execute(sa.text("SELECT set_config('app.session_token', 'not-a-real-token', true)"))
            assert c.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == 0


def test_inserting_a_row_for_another_company_is_refused_by_the_database(app, factory, acme, bravo):
    token = factory.session_token(acme.members["company_admin"])
    with _app_connection(app) as c:
        with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
            with c.begin():
                c.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
                c.execute(sa.text("INSERT INTO profiles (id, company_id, user_id, full_name, role, created_at) "
                                  "VALUES (:id, :c, :u, 'Mallory', 'manager', now())"),
                          {"id": uuid.uuid4(), "c": bravo.id, "u": bravo.members["manager"].user_id})


def test_tenant_context_ends_with_the_transaction_on_a_pooled_connection(app, factory, acme):
    token = factory.session_token(acme.members["manager"])
    with _app_connection(app) as c:
        with c.begin():
            c.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
            assert _count_profiles(c, acme.id) == len(acme.members)
        with c.begin():
            assert _count_profiles(c, acme.id) == 0


def test_a_revoked_or_expired_session_stops_resolving_at_once(app, factory, acme):
    token = factory.session_token(acme.members["manager"])
    db = app.extensions["flowtrack.db"]
    with db.service() as s:
        s.execute(sa.text("UPDATE auth_sessions SET revoked_at = now() "
                          "WHERE token_hash = sha256(convert_to(:t, 'UTF8'))"),
                  {"t": token})
        s.commit()
    session = db.app_session(token)
    assert session.scalar(sa.select(sa.func.count()).select_from(Profile)) == 0
    session.close()


def test_the_app_layer_alone_isolates_when_rls_is_bypassed(app, app_factory, acme, bravo):
    """Run the web app as the BYPASSRLS service role: only the app-layer filter is left."""
    service_url = app.extensions["flowtrack.settings"].service_database_url
    unprotected = app_factory(APP_DATABASE_URL=service_url)
    browser = unprotected.test_client()
    browser.sign_in_as(acme.members["company_admin"])
    page = browser.get("/dashboard/")
    assert page.status_code == 200
    assert acme.members["manager"].email in page.text
    assert bravo.members["manager"].email not in page.text
    audit_page = browser.get("/audit/")
    # Acme's chain so far: company.created and six user.created entries; any other company's would add rows.
    assert audit_page.text.count("<tr>") - 1 == len(acme.members) + 1  # and the company's creation


def test_rls_alone_isolates_when_the_app_layer_filter_is_off(app_factory, acme, bravo):
    unfiltered = app_factory(TENANT_APP_FILTER=False)
    assert unfiltered.extensions["flowtrack.db"].tenant_app_filter is False
    browser = unfiltered.test_client()
    browser.sign_in_as(acme.members["company_admin"])
    page = browser.get("/dashboard/")
    assert page.status_code == 200
    assert acme.members["manager"].email in page.text
    assert bravo.members["manager"].email not in page.text


def test_the_app_layer_refuses_to_write_a_row_for_another_company(app, factory, acme, bravo):
    db = app.extensions["flowtrack.db"]
    session = db.app_session(factory.session_token(acme.members["company_admin"]))
    from flowtrack.core.db import bind_company

    bind_company(session, acme.id)
    session.add(Profile(company_id=bravo.id, user_id=bravo.members["manager"].user_id, full_name="x", role="manager"))
    with pytest.raises(PermissionError):
        session.flush()
    session.close()
