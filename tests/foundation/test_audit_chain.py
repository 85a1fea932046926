"""The audit chain: verifies when intact, names the first bad entry when not,
survives identity stripping and retention pruning, and never forks."""
import datetime as dt
import threading

import sqlalchemy as sa

from flowtrack.audit import services as audit
from flowtrack.core.db import bind_company
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.ops.cli import cli


def _admin_engine(app):
    return sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)


def _behind_the_apps_back(app, sql, **params):
    """A database superuser edits the table directly."""
    engine = _admin_engine(app)
    with engine.begin() as c:
        c.execute(sa.text(sql), params)
    engine.dispose()


def _verify(app, company_id, **kwargs):
    with app.extensions["flowtrack.db"].service() as s:
        return audit.verify_chain(s, company_id, **kwargs)


def _set_up(app, tenant) -> int:
    """How many entries a new company's chain starts with (its creation and its members')."""
    return _verify(app, tenant.id).entries


def _write_entries(app, company_id, count, actor_label="office@example.com"):
    with app.extensions["flowtrack.db"].service() as s:
        for i in range(count):
            audit.record(s, "customer.updated", entity_type="customer", entity_id=f"c{i}", company_id=company_id,
                         actor=audit.Actor(None, actor_label, "203.0.113.9", "pytest"),
                         changes=audit.changes_between({"phone": "555-0100"}, {"phone": f"555-01{i:02d}"}))
        s.commit()


def test_an_untouched_chain_verifies(app, acme):
    start = _set_up(app, acme)
    _write_entries(app, acme.id, 5)
    result = _verify(app, acme.id)
    assert result.ok and result.entries == start + 5 and result.head_seq == start + 5


def test_a_changed_entry_is_named(app, acme):
    _write_entries(app, acme.id, 5)
    _behind_the_apps_back(app, "UPDATE audit_log SET action = 'customer.viewed' WHERE company_id = :c AND seq = 9",
                          c=acme.id)
    result = _verify(app, acme.id)
    assert not result.ok and result.bad_seq == 9


def test_a_changed_before_after_is_named(app, acme):
    _write_entries(app, acme.id, 3)
    _behind_the_apps_back(app, """UPDATE audit_log SET changes = '{"phone": {"before": "x", "after": "y"}}'
                                  WHERE company_id = :c AND seq = 8""", c=acme.id)
    assert _verify(app, acme.id).bad_seq == 8


def test_a_deleted_entry_is_named(app, acme):
    _write_entries(app, acme.id, 5)
    _behind_the_apps_back(app, "DELETE FROM audit_log WHERE company_id = :c AND seq = 10", c=acme.id)
    result = _verify(app, acme.id)
    assert not result.ok and "10 is missing" in result.problem


def test_reordered_entries_are_detected(app, acme):
    _write_entries(app, acme.id, 5)
    for old, new in ((9, -1), (10, 9), (-1, 10)):
        _behind_the_apps_back(app, "UPDATE audit_log SET seq = :new WHERE company_id = :c AND seq = :old",
                              c=acme.id, old=old, new=new)
    result = _verify(app, acme.id)
    assert not result.ok and result.bad_seq == 9


def test_a_dropped_tail_is_caught_by_the_head_recorded_outside(app, acme):
    _write_entries(app, acme.id, 3)
    head = _verify(app, acme.id)
    _behind_the_apps_back(app, "DELETE FROM audit_log WHERE company_id = :c AND seq = :last", c=acme.id,
                          last=head.head_seq)
    assert _verify(app, acme.id).ok  # the database alone cannot tell...
    assert not _verify(app, acme.id, expected_head=head.head_hex).ok  # ...the exported head can


def test_the_chain_still_verifies_after_identity_is_stripped_by_the_sweep(app, acme):
    start = _set_up(app, acme)
    _write_entries(app, acme.id, 3)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(Company).where(Company.id == acme.id).values(tombstoned_at=sa.func.now()))
        assert audit.strip_identity(s, acme.id) == start + 3
        s.commit()
        leftovers = s.execute(sa.select(AuditEntry).where(AuditEntry.company_id == acme.id,
                                                          sa.or_(AuditEntry.actor_label.is_not(None),
                                                                 AuditEntry.ip.is_not(None),
                                                                 AuditEntry.changes.is_not(None)))).all()
    assert leftovers == []
    assert _verify(app, acme.id).ok


def test_stripping_outside_the_sweep_is_not_accepted(app, acme):
    _write_entries(app, acme.id, 2)
    _behind_the_apps_back(app, "UPDATE audit_log SET payload_salt = NULL, actor_label = NULL, stripped_at = now() "
                               "WHERE company_id = :c AND seq = 8", c=acme.id)
    assert _verify(app, acme.id).bad_seq == 8


def test_the_chain_still_verifies_after_retention_pruning(app, factory, acme):
    start = _set_up(app, acme)
    factory.backdate_audit(acme, days=400)
    _write_entries(app, acme.id, 2)
    with app.extensions["flowtrack.db"].service() as s:
        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365)
        assert audit.prune_before(s, acme.id, cutoff) == start
        s.commit()
    result = _verify(app, acme.id)
    assert result.ok and result.entries == 2 and result.head_seq == start + 2
    # New entries continue the chain after the pruned prefix.
    _write_entries(app, acme.id, 1)
    assert _verify(app, acme.id).ok


def test_concurrent_writers_in_one_company_never_fork_the_chain(app, factory, acme):
    start = _set_up(app, acme)
    db = app.extensions["flowtrack.db"]
    errors = []

    def writer(n):
        try:
            session = db.app_session(factory.session_token(acme.members["manager"]))
            bind_company(session, acme.id)
            for i in range(10):
                audit.record(session, "device.updated", entity_type="device", entity_id=f"{n}-{i}")
                session.commit()
            session.close()
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(app, acme.id)
    assert result.ok and result.entries == start + 60


def test_the_cli_exits_zero_on_an_intact_chain_and_names_the_bad_entry(app, acme, bravo):
    runner = app.test_cli_runner()
    ok = runner.invoke(cli, ["audit", "verify", "--company", str(acme.id)])
    assert ok.exit_code == 0 and "ok" in ok.output
    _behind_the_apps_back(app, "UPDATE audit_log SET entity_type = 'x' WHERE company_id = :c AND seq = 3", c=acme.id)
    broken = runner.invoke(cli, ["audit", "verify", "--company", str(acme.id)])
    assert broken.exit_code == 1 and "seq=3" in broken.output
    assert runner.invoke(cli, ["audit", "verify", "--company", str(bravo.id)]).exit_code == 0
