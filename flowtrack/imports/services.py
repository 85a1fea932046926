"""Import customers, service locations and devices from a CSV file, as companies move off spreadsheets.

One row a device (or a location with no device), its customer and address on the same row. An upload is
read (`store_upload`) and checked (`plan_rows`) first: each row's problems and what it would add. Nothing is
saved until the office imports, and then every row or none (`import_upload`): one transaction, batched
inserts, and an audit entry for every record made. The office's click queues the import (`start_import`);
the worker runs it (`run_import`), writing its progress beside the import's own transaction. Rows match what
the company has already, so importing the same file again adds nothing: a customer by name, a location by its
normalised address, a device by its serial at that location. Fields are checked by the same forms the office
types into.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from defusedcsv import csv
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from flowtrack.audit import services as audit
from flowtrack.core.csv_text import UnreadableText, uploaded_text
from flowtrack.core.db import Database, insert_all, new_id, utcnow
from flowtrack.core.queue import ProgressRow
from flowtrack.customers import services as customers
from flowtrack.customers.forms import CustomerForm, LocationForm
from flowtrack.devices import services as devices
from flowtrack.devices.forms import DeviceForm
from flowtrack.models.accounts import User
from flowtrack.models.customers import Customer, CustomerLocation, Device, District
from flowtrack.models.imports import CustomerImport, ImportStatus

log = logging.getLogger("flowtrack.imports")

# CSV column -> field of the customer form.
CUSTOMER_COLUMNS = {"customer_name": "name", "customer_email": "email", "customer_phone": "phone",
                    "billing_address": "billing_address"}
LOCATION_COLUMNS = ("address_line1", "address_line2", "city", "state", "postal_code", "district",
                    "site_contact_name", "site_contact_phone", "access_notes")
DEVICE_COLUMNS = ("device_type", "manufacturer", "model", "serial", "size", "where_installed", "hazard",
                  "install_date", "last_test_on")
COLUMNS = (*CUSTOMER_COLUMNS, *LOCATION_COLUMNS, *DEVICE_COLUMNS)
REQUIRED_COLUMNS = ("customer_name", "address_line1", "city", "state", "postal_code")
EXAMPLE_ROW = {"customer_name": "Harbor Foods", "customer_email": "ap@harborfoods.example",
               "customer_phone": "541-555-0100", "billing_address": "PO Box 12, Springfield OR 97477",
               "address_line1": "12 Harbor Street", "city": "Springfield", "state": "OR", "postal_code": "97477",
               "district": "Springfield Utility Board", "site_contact_name": "Dana", "access_notes": "Gate code 1234",
               "device_type": "RP", "manufacturer": "Watts", "model": "LF909", "serial": "AB1234", "size": "3/4",
               "where_installed": "Front yard by the meter", "hazard": "health", "install_date": "2019-05-01",
               "last_test_on": "2025-04-02"}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")
# Progress is reported (and the records saved) this many rows at a time.
PROGRESS_ROWS = 250
SAVE_ROWS = 500
# An import not finished this long after the click has stopped (a worker killed mid-job, a job lost): 20,000
# rows take under a minute, so this leaves room for a long queue. The office may then start it again.
STALE_AFTER = dt.timedelta(minutes=15)
# Rows with problems kept from a failed attempt, for its status (the preview lists them all again).
KEPT_PROBLEMS = 200
RACED = ("Someone added some of these records while the file was importing. Nothing was imported; check the rows "
         "again.")
CRASHED = "The import stopped on an error on our side. Nothing was imported; try again."


class UnreadableFile(Exception):
    """The file cannot be imported at all; the message says why, for the upload form."""


class AlreadyImported(Exception):
    pass


class ImportRunning(Exception):
    """The upload is being imported already (a second click, a second tab)."""


# --- reading the file -----------------------------------------------------------------------------------

def _column(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").split())


def _text(data: bytes) -> str:
    try:
        return uploaded_text(data)
    except UnreadableText as problem:
        raise UnreadableFile(str(problem)) from None


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The file's rows by column name, or UnreadableFile saying what is wrong with its shape."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile(f"The file is larger than {MAX_BYTES // 1048576} MB. Split it and import the parts.")
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    try:
        header = [_column(cell) for cell in next(reader, [])]
        if not any(header):
            raise UnreadableFile("The file is empty. The first line must name the columns.")
        unknown = [name or "(blank)" for name in header if name not in COLUMNS]
        if unknown:
            raise UnreadableFile(f"Unknown column(s): {', '.join(unknown)}. "
                                 f"The columns FlowTrack reads are: {', '.join(COLUMNS)}.")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise UnreadableFile(f"Column(s) named twice: {', '.join(repeated)}.")
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise UnreadableFile(f"Missing column(s): {', '.join(missing)}.")
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise UnreadableFile(f"Line {reader.line_num} has {len(cells)} cells, more than the "
                                     f"{len(header)} columns of the first line.")
            if len(rows) == MAX_ROWS:
                raise UnreadableFile(f"The file has more than {MAX_ROWS:,} rows. Split it and import the parts.")
            values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
            rows.append({"line": reader.line_num, **values})
    except csv.Error as error:
        raise UnreadableFile(f"Line {reader.line_num} cannot be read as CSV: {error}.") from None
    if not rows:
        raise UnreadableFile("The file names its columns but has no rows.")
    return rows


def store_upload(session: so.Session, filename: str, data: bytes, user_id: uuid.UUID | None) -> CustomerImport:
    """Keep a readable file's rows until they are imported."""
    rows = read_csv(data)
    upload = CustomerImport(filename=filename[:255] or "upload.csv", sha256=hashlib.sha256(data).hexdigest(),
                            uploaded_by=user_id, rows=rows, row_count=len(rows))
    session.add(upload)
    session.flush()
    audit.record(session, "customers.import_uploaded", entity_type="customer_import", entity_id=upload.id,
                 changes={"file": upload.filename, "sha256": upload.sha256, "rows": upload.row_count})
    return upload


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue()


# --- checking the rows ----------------------------------------------------------------------------------

@dataclass
class RowCheck:
    """What one row of the file would do, and what is wrong with it."""

    line: int
    values: dict[str, str]
    problems: list[str] = field(default_factory=list)
    customer: str = ""      # "new" or "existing"
    location: str = ""
    device: str | None = None  # "new", "existing", or None for a row without a device


@dataclass
class Plan:
    rows: list[RowCheck]
    customers: list[Customer] = field(default_factory=list)
    locations: list[CustomerLocation] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    # How many customers, locations and devices the plan holds after each row: the records of a run of
    # rows are slices of the three lists, so they can be saved a few hundred rows at a time.
    made_after: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def problem_rows(self) -> list[RowCheck]:
        return [row for row in self.rows if row.problems]

    def counts(self) -> dict[str, int]:
        return {"rows": len(self.rows), "customers": len(self.customers), "locations": len(self.locations),
                "devices": len(self.devices), "rows_with_problems": len(self.problem_rows),
                "rows_already_there": sum(1 for row in self.rows if not row.problems and "new" not in
                                          (row.customer, row.location, row.device))}


def _date(text: str) -> str:
    """Dates as spreadsheets write them (2019-05-01, 5/1/2019, 5/1/19) in the form's ISO format."""
    for layout in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, layout).date().isoformat()
        except ValueError:
            continue
    return text


def _device_values(row: dict[str, str]) -> dict[str, str]:
    values = {column: row.get(column, "") for column in DEVICE_COLUMNS}
    values["device_type"] = values["device_type"].upper()
    values["hazard"] = values["hazard"].lower().replace("-", "_").replace(" ", "_")
    values["size"] = values["size"].rstrip('"″').removesuffix(" in").strip()
    for column in ("install_date", "last_test_on"):
        values[column] = _date(values[column])
    return values


class _RowForms:
    """The office's own forms, made once and filled with each row in turn (making a form costs more than
    checking one); each error becomes "column: message"."""

    def __init__(self, district_choices: list[tuple[str, str]], today: dt.date):
        self.customer = CustomerForm(formdata=None, meta={"csrf": False})
        self.location = LocationForm(formdata=None, meta={"csrf": False})
        self.location.district_id.choices = district_choices
        self.device = DeviceForm(formdata=None, meta={"csrf": False})
        self.device.today = today
        del self.device.status

    @staticmethod
    def check(form, data: dict[str, str], problems: list[str], columns: dict[str, str] | None = None) -> None:
        form.process(MultiDict(data))
        if not form.validate():
            back = {name: column for column, name in (columns or {}).items()}
            for name, messages in form.errors.items():
                problems.extend(f"{back.get(name, name)}: {_in_words(form[name], message)}" for message in messages)


def _in_words(field, message: str) -> str:
    """A choice the file's cell did not match is answered with the choices it could have been."""
    if message == "Not a valid choice." and getattr(field, "choices", None):
        allowed = ", ".join(str(value) for value, _ in field.choices if value)
        return f"“{field.raw_data[0] if field.raw_data else ''}” is not one of {allowed}."
    return message


def _customer_key(name: str) -> str:
    return " ".join(name.split()).lower()


class _Known:
    """What the company has already, looked up once for the whole file: a few statements, not one a row."""

    def __init__(self, session: so.Session, rows: list[dict[str, str]], location_keys: set[str],
                 serials: set[str]):
        names = {_customer_key(row.get("customer_name", "")) for row in rows}
        self.customers: dict[str, list[uuid.UUID]] = {}
        for customer_id, key in session.execute(sa.select(Customer.id, Customer.name_key)
                                                .where(Customer.name_key.in_(names))):
            self.customers.setdefault(key, []).append(customer_id)
        self.locations = {row.address_key: row for row in session.execute(
            sa.select(CustomerLocation.id, CustomerLocation.customer_id, CustomerLocation.address_key,
                      CustomerLocation.district_id).where(CustomerLocation.address_key.in_(location_keys)))}
        self.devices = {row.serial: row for row in session.execute(
            sa.select(Device.id, Device.location_id, Device.serial).where(Device.serial.in_(serials)))}
        self.districts = {district.name.lower(): district for district in session.scalars(sa.select(District))}
        self.rules = {district.id: devices.due_rule(district) for district in self.districts.values()}


def plan_rows(session: so.Session, rows: list[dict[str, str]], today: dt.date,
              checked: Callable[[int], None] | None = None) -> Plan:
    """Check every row against the forms' rules, the rest of the file and the company's records; build (but
    do not save) what importing would add. `checked(n)` hears every few hundred rows how many are done."""
    places = []
    for row in rows:
        place = CustomerLocation()
        customers.fill_location(place, {c: row.get(c, "") for c in LOCATION_COLUMNS if c != "district"})
        places.append(place)
    serials = {devices.normal_serial(row.get("serial")) for row in rows} - {None}
    planner = _Planner(_Known(session, rows, {place.address_key for place in places}, serials), today)
    plan = planner.plan
    for done, (row, place) in enumerate(zip(rows, places, strict=True), 1):
        planner.add(row, place)
        plan.made_after.append((len(plan.customers), len(plan.locations), len(plan.devices)))
        if checked and (done % PROGRESS_ROWS == 0 or done == len(rows)):
            checked(done)
    return plan


class _Planner:
    """Goes through the rows in order, remembering what earlier rows of the file made."""

    def __init__(self, known: _Known, today: dt.date):
        self.known, self.plan = known, Plan(rows=[])
        self.forms = _RowForms([("", "—")] + [(str(d.id), d.name) for d in known.districts.values()], today)
        self.customers: dict[str, uuid.UUID] = {}  # name key -> customer id
        # address key -> (line, customer id, location id, district id)
        self.locations: dict[str, tuple[int, uuid.UUID, uuid.UUID, uuid.UUID | None]] = {}
        self.serials: dict[str, int] = {}  # serial -> line

    def add(self, row: dict[str, str], place: CustomerLocation) -> None:
        """Check the row's customer, place and device at once, so every problem of the row is listed together."""
        check = RowCheck(line=row["line"], values={k: v for k, v in row.items() if k != "line"})
        self.plan.rows.append(check)
        customer_data = {name: row.get(column, "") for column, name in CUSTOMER_COLUMNS.items()}
        customer_data["name"] = " ".join(customer_data["name"].split())
        self.forms.check(self.forms.customer, customer_data, check.problems, CUSTOMER_COLUMNS)
        district_name = row.get("district", "")
        district = self.known.districts.get(district_name.lower()) if district_name else None
        if district_name and district is None:
            check.problems.append(f"district: No water district is named “{district_name}”. "
                                  "Add it under Districts first, or leave the cell empty.")
        location_data = {c: row.get(c, "") for c in LOCATION_COLUMNS if c != "district"}
        location_data["district_id"] = str(district.id) if district else ""
        self.forms.check(self.forms.location, location_data, check.problems, {"district": "district_id"})
        device_values = _device_values(row)
        has_device = any(device_values.values())
        if has_device:
            self.forms.check(self.forms.device, device_values, check.problems)
        if check.problems:
            return
        customer_id = self._customer(check, customer_data)
        located = customer_id and self._location(check, place, customer_id, district)
        if located and has_device:
            self._device(check, device_values, *located)

    def _customer(self, check: RowCheck, data: dict[str, str]) -> uuid.UUID | None:
        """Earlier in the file, already the company's, or new."""
        key = _customer_key(data["name"])
        known = self.known.customers.get(key, [])
        check.customer = "existing" if known else "new"
        if key not in self.customers:
            if len(known) > 1:
                check.problems.append(f"customer_name: More than one customer is named “{data['name']}”. "
                                      "Rename one of them first.")
                return None
            if known:
                self.customers[key] = known[0]
            else:
                customer = customers.new_customer(**data)
                self.plan.customers.append(customer)
                self.customers[key] = customer.id
        return self.customers[key]

    def _location(self, check: RowCheck, place: CustomerLocation, customer_id: uuid.UUID,
                  district: District | None) -> tuple[uuid.UUID, uuid.UUID | None] | None:
        """The same address may be on many rows, always the same customer's. Returns (location, district)."""
        address = place.address_key
        check.location = "existing" if address in self.known.locations else "new"
        if address in self.locations:
            line, owner, location_id, district_id = self.locations[address]
            if owner != customer_id:
                check.problems.append(f"address_line1: This address is on line {line} under another customer.")
                return None
            return location_id, district_id
        if address in self.known.locations:
            existing = self.known.locations[address]
            if existing.customer_id != customer_id:
                check.problems.append("address_line1: This address is already a service location of another "
                                      "customer.")
                return None
            location_id, district_id = existing.id, existing.district_id
        else:
            place.id, place.customer_id = new_id(), customer_id
            place.district_id = district.id if district else None
            self.plan.locations.append(place)
            location_id, district_id = place.id, place.district_id
        self.locations[address] = (check.line, customer_id, location_id, district_id)
        return location_id, district_id

    def _device(self, check: RowCheck, values: dict[str, str], location_id: uuid.UUID,
                district_id: uuid.UUID | None) -> None:
        """New, or already recorded at this location; a serial is on one row of the file only (its cells were
        checked with the row's others)."""
        serial = devices.normal_serial(values["serial"])
        if serial in self.serials:
            check.problems.append(f"serial: Serial {serial} is also on line {self.serials[serial]}.")
            return
        self.serials[serial] = check.line
        if serial in self.known.devices:
            if self.known.devices[serial].location_id != location_id:
                check.problems.append(f"serial: Serial {serial} is already recorded at another location.")
                return
            check.device = "existing"
            return
        fields = {name: values.get(name) or None for name in devices.DEVICE_FIELDS}
        for name in ("install_date", "last_test_on"):
            fields[name] = dt.date.fromisoformat(fields[name]) if fields[name] else None
        rule = self.known.rules.get(district_id) or devices.due_rule(None)
        self.plan.devices.append(devices.new_device(location_id, rule, **fields))
        check.device = "new"


# --- importing ------------------------------------------------------------------------------------------

def import_upload(session: so.Session, upload: CustomerImport, today: dt.date,
                  progress: Callable[[int, int], None] | None = None) -> Plan:
    """Add every row's new records in the caller's transaction, or none: a plan with problems saves nothing.

    The rows are checked again, since records may have changed since the preview. Unique keys (address,
    serial) still guard against someone adding the same record at this moment; the caller rolls back then.
    `progress(rows_checked, rows_saved)` hears how far it is, every few hundred rows.
    """
    if upload.status == ImportStatus.imported.value:
        raise AlreadyImported
    total = len(upload.rows)
    plan = plan_rows(session, upload.rows, today, (lambda done: progress(done, 0)) if progress else None)
    if plan.problem_rows:
        return plan
    source = {"import_id": str(upload.id)}
    saved = (0, 0, 0)
    for end in range(SAVE_ROWS, total + SAVE_ROWS, SAVE_ROWS):
        end = min(end, total)
        made = plan.made_after[end - 1]
        _save(session, source, *(records[since:until] for records, since, until in
                                 zip((plan.customers, plan.locations, plan.devices), saved, made, strict=True)))
        saved = made
        if progress:
            progress(total, end)
    # Locked only now, after the last progress report (which writes this row from another transaction): a
    # second import of the same file running at the same time waits here, then finds it imported.
    status = session.scalar(sa.select(CustomerImport.status).where(CustomerImport.id == upload.id)
                            .with_for_update())
    if status == ImportStatus.imported.value:
        raise AlreadyImported
    counts = plan.counts()
    audit.record(session, "customers.imported", entity_type="customer_import", entity_id=upload.id,
                 changes={"file": upload.filename, "sha256": upload.sha256, **counts})
    upload.status, upload.imported_at, upload.summary = ImportStatus.imported.value, utcnow(), counts
    upload.rows = []  # the records hold the data now; no second copy is kept
    upload.error, upload.problems = None, []
    session.flush()
    return plan


def _save(session: so.Session, source: dict, new_customers: list[Customer], new_locations: list[CustomerLocation],
          new_devices: list[Device]) -> None:
    """Insert records and an audit entry for each; customers before their locations before their devices, as
    each references the one before."""
    for records in (new_customers, new_locations, new_devices):
        insert_all(session, records)
    audit.record_many(session, [
        *(audit.Event("customer.created", "customer", c.id,
                      {**audit.changes_between(None, customers.snapshot(c)), **source}) for c in new_customers),
        *(audit.Event("location.created", "location", loc.id,
                      {**audit.changes_between(None, customers.location_snapshot(loc)), **source})
          for loc in new_locations),
        *(audit.Event("device.created", "device", d.id,
                      {**audit.changes_between(None, devices.snapshot(d)), **source}) for d in new_devices)])


def stopped(upload: CustomerImport, now: dt.datetime) -> bool:
    """An import that should have finished long ago: its job is gone, and the office may start it again."""
    return upload.status == ImportStatus.importing.value and upload.started_at < now - STALE_AFTER


def start_import(session: so.Session, upload: CustomerImport, now: dt.datetime) -> uuid.UUID:
    """Mark the upload as importing, for a job the caller queues once this commits; returns the attempt's id.

    Quick checks only (the rows are checked again by the job): refuses a file imported already
    (AlreadyImported) or being imported (ImportRunning) unless that import has stopped.
    """
    # Locked, so that of two clicks at the same moment the second waits and then finds the file importing.
    session.refresh(upload, ["status", "started_at"], with_for_update=True)
    if upload.status == ImportStatus.imported.value:
        raise AlreadyImported
    if upload.status == ImportStatus.importing.value and not stopped(upload, now):
        raise ImportRunning
    upload.status, upload.attempt_id, upload.started_at = ImportStatus.importing.value, new_id(), now
    upload.rows_checked = upload.rows_saved = 0
    upload.error, upload.problems = None, []
    audit.record(session, "customers.import_started", entity_type="customer_import", entity_id=upload.id,
                 changes={"file": upload.filename, "rows": upload.row_count})
    session.flush()
    return upload.attempt_id


def run_import(db: Database, session: so.Session, upload_id: uuid.UUID, attempt_id: uuid.UUID,
               user_id: uuid.UUID | None, today: dt.date) -> str:
    """The worker's part: import the upload in `session` (a job session of its company) for this attempt, or
    record why nothing was imported. Returns what happened: imported, problems, raced or superseded."""
    upload = session.get(CustomerImport, upload_id)
    if upload is None or upload.status != ImportStatus.importing.value or upload.attempt_id != attempt_id:
        return "superseded"  # forgotten, finished, or started again since this job was queued
    person = session.get(User, user_id) if user_id else None
    if person is not None:
        # The records are the office person's, as when the import ran in their request.
        session.info["audit_actor"] = audit.Actor(person.id, person.email)
    # The rows checked and saved, for the status page while the import is still uncommitted.
    progress = ProgressRow(session, upload.company_id, sa.update(CustomerImport).where(
        CustomerImport.id == upload_id, CustomerImport.attempt_id == attempt_id), db)
    try:
        plan = import_upload(session, upload, today,
                             lambda checked, saved: progress.write(rows_checked=checked, rows_saved=saved))
        if plan.problem_rows:
            session.rollback()
            _stop(session, upload_id, attempt_id, _changed(len(plan.problem_rows)),
                  [_problem(row) for row in plan.problem_rows[:KEPT_PROBLEMS]])
            return "problems"
        # The row is locked by now: a retry cannot take the import over between this check and the commit.
        if session.scalar(sa.select(CustomerImport.attempt_id).where(CustomerImport.id == upload_id)) != attempt_id:
            session.rollback()
            return "superseded"
        session.commit()
        return "imported"
    except AlreadyImported:
        session.rollback()
        return "superseded"
    except IntegrityError:
        session.rollback()
        _stop(session, upload_id, attempt_id, RACED, [])
        return "raced"
    except Exception:
        log.exception("import %s failed", upload_id)
        session.rollback()
        _stop(session, upload_id, attempt_id, CRASHED, [])
        raise
    finally:
        progress.close()


def _changed(problem_rows: int) -> str:
    rows = "1 row has" if problem_rows == 1 else f"{problem_rows:,} rows have"
    return f"Records have changed since the preview and {rows} problems now. Nothing was imported."


def _problem(row: RowCheck) -> dict:
    return {"line": row.line, "customer_name": row.values.get("customer_name", ""),
            "address_line1": row.values.get("address_line1", ""), "serial": row.values.get("serial", ""),
            "problems": row.problems}


def _stop(session: so.Session, upload_id: uuid.UUID, attempt_id: uuid.UUID, error: str, problems: list) -> None:
    """Nothing was imported: the upload goes back to previewed, saying why, for the office to fix or retry."""
    stopped_now = session.execute(
        sa.update(CustomerImport)
        .where(CustomerImport.id == upload_id, CustomerImport.attempt_id == attempt_id,
               CustomerImport.status == ImportStatus.importing.value)
        .values(status=ImportStatus.previewed.value, error=error, problems=problems)).rowcount
    if stopped_now:
        audit.record(session, "customers.import_failed", entity_type="customer_import", entity_id=upload_id,
                     changes={"error": error})
    session.commit()


def recent_uploads(session: so.Session, limit: int = 20) -> list[CustomerImport]:
    return list(session.scalars(sa.select(CustomerImport).order_by(CustomerImport.uploaded_at.desc()).limit(limit)))


def get_upload(session: so.Session, upload_id: uuid.UUID, *, with_rows: bool = True) -> CustomerImport | None:
    """An upload of the company; `with_rows=False` leaves out its rows (megabytes for a big file) for pages that
    show only its state."""
    return session.get(CustomerImport, upload_id, options=() if with_rows else (so.defer(CustomerImport.rows),))


def forget_stale_previews(session: so.Session, now: dt.datetime, *, after: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Delete uploads previewed but never imported after a week (or whose import stopped): they hold people's
    details for nothing."""
    never_imported = sa.or_(CustomerImport.status == ImportStatus.previewed.value,
                            sa.and_(CustomerImport.status == ImportStatus.importing.value,
                                    CustomerImport.started_at < now - STALE_AFTER))
    result = session.execute(sa.delete(CustomerImport).where(never_imported, CustomerImport.uploaded_at < now - after))
    return result.rowcount
