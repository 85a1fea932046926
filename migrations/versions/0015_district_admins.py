"""District admins: a district admin's profile names the company's water district they may see; an index that
walks a company's tests newest first, for the district's test list.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("profiles", sa.Column("district_id", UUID(as_uuid=True)))
    # NOT VALID: every existing row is NULL, and checking them would run the owner's query under row-level
    # security (see 0013). New and changed rows are checked as usual.
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_district_id_fkey FOREIGN KEY (district_id) "
               "REFERENCES districts (id) NOT VALID")
    # Only a district admin names a district. Not "if and only if": district admins made before this revision
    # (the demo data, any invited ones) have none, and nothing here can tell which district they are for; they
    # see no tests until an admin gives them one (the team page asks for it whenever the role is chosen).
    op.create_check_constraint("profiles_district_check", "profiles",
                               "district_id IS NULL OR role = 'district_admin'")
    op.create_index("profiles_district_idx", "profiles", ["company_id", "district_id"])
    # The district's test list pages newest first along this index (keyset), whatever the number of tests.
    op.create_index("test_records_tested_idx", "test_records", ["company_id", "tested_at", "id"])


def downgrade() -> None:
    op.drop_index("test_records_tested_idx", "test_records")
    op.drop_index("profiles_district_idx", "profiles")
    op.drop_constraint("profiles_district_check", "profiles")
    op.drop_column("profiles", "district_id")
