"""At 50,000 customers the list costs what it costs at ten: the same statements, each an index range.

The plans are taken as the app role under row-level security, where PostgreSQL
keeps a condition out of an index scan unless its functions are leakproof.
"""
import json
import re
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event

PAGES = ["/customers/", "/customers/?sort=-name", "/customers/?sort=newest", "/customers/?q=customer%201",
         "/customers/?status=archived", "/customers/?status=all"]


@contextmanager
def statements(app):
    """(SQL, parameters) of every statement the app role runs inside."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = app.extensions["flowtrack.db"].app_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _admin(app):
    return sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)


def _add_customers(app, tenant, count: int) -> None:
    engine = _admin(app)
    with engine.begin() as c:
        c.execute(sa.text("""
            INSERT INTO customers (id, company_id, name, phone, created_at, archived_at)
            SELECT gen_random_uuid(), :company, 'Customer ' || lpad(n::text, 5, '0'),
                   '541-555-' || lpad((n % 10000)::text, 4, '0'),
                   now() - n * interval '1 minute', CASE WHEN n % 20 = 0 THEN now() END
            FROM generate_series(1, :count) AS n
        """), {"company": tenant.id, "count": count})
        c.execute(sa.text("ANALYZE customers"))
    engine.dispose()


def _plan(app, factory, member, statement, parameters) -> str:
    """EXPLAIN of a statement as the app role under the member's row-level security."""
    token = factory.session_token(member)
    with app.extensions["flowtrack.db"].app_engine.connect() as c:
        driver = c.connection.driver_connection
        with driver.transaction():
            driver.execute("SELECT set_config('app.session_token', %s, true)", (token,))
            [[plan]] = driver.execute("EXPLAIN (FORMAT JSON) " + statement, parameters).fetchall()
    return json.dumps(plan)


def test_fifty_thousand_customers_cost_the_same_statements_as_ten_each_an_index_range(app, factory, acme, admin):
    _add_customers(app, acme, 10)
    small = {}
    for path in PAGES:
        admin.get(path)  # warm up: first-request work is not the page's
        with statements(app) as seen:
            assert admin.get(path).status_code == 200
        small[path] = seen
    _add_customers(app, acme, 50_000)
    first = admin.get("/customers/").text
    next_page = re.search(r'href="(/customers/\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    for path in PAGES + [next_page]:
        with statements(app) as large:
            response = admin.get(path)
        assert response.status_code == 200
        if path in small:
            assert len(large) == len(small[path]), path
            assert len(large) <= 8, (path, [sql for sql, _ in large])
        for sql, _ in large:
            assert not re.search(r"\bOFFSET\b|count\(", sql, re.IGNORECASE), sql
        sql, parameters = next((s, p) for s, p in large if "FROM customers" in s)
        plan = _plan(app, factory, acme.members["company_admin"], sql, parameters)
        assert '"Seq Scan"' not in plan, (path, plan)
        assert '"Node Type": "Sort"' not in plan, (path, plan)
        index = "customers_company_created_idx" if "newest" in path else "customers_company_name_idx"
        assert index in plan, (path, plan)
        if "q=" in path or "after=" in path:
            # The search and the page position bound the index scan; they are not filters over every row.
            assert "name_key" in index_condition(plan), (path, plan)
    assert names(first) != names(admin.get(next_page).text)


def index_condition(plan_json: str) -> str:
    def walk(node):
        yield node.get("Index Cond", "")
        for child in node.get("Plans", []):
            yield from walk(child)

    return " ".join(walk(json.loads(plan_json)[0]["Plan"]))


def names(page_html: str) -> list[str]:
    return re.findall(r'<a href="/customers/[0-9a-f-]{36}">([^<]+)</a>', page_html)
