"""The benchmark generator writes records and a valid audit chain with COPY, and is idempotent."""
import sqlalchemy as sa

from flowtrack.audit.services import verify_chain
from flowtrack.cli import cli
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.seed_large import LARGE_COMPANY


def test_seed_scale_large_builds_records_and_a_verifiable_chain(app):
    runner = app.test_cli_runner()
    command = ["seed", "--scale", "large", "--audit-entries", "3000", "--customers", "400"]
    result = runner.invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, command).exit_code == 0
    with app.extensions["flowtrack.db"].service() as s:
        company_id = s.scalar(sa.select(Company.id).where(Company.name == LARGE_COMPANY))
        count = s.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.company_id == company_id))
        verification = verify_chain(s, company_id)
        records = {table: s.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE company_id = :c"), {"c": company_id})
                   for table in ("customers", "customer_locations", "devices", "districts", "gauges")}
        overdue = s.scalar(sa.text("SELECT count(*) FROM devices WHERE company_id = :c AND next_test_due < now()"),
                           {"c": company_id})
    assert count == 3000
    assert records == {"customers": 400, "customer_locations": 500, "devices": 1000, "districts": 12, "gauges": 30}
    assert 0 < overdue < 1000
    assert verification.ok and verification.entries == 3000
    assert runner.invoke(cli, ["seed"]).exit_code == 2
