"""A water district's own list of the assemblies it knows, and our devices matched against it before a report is
sent: a device the district does not know, or knows at another address, is the commonest reason it rejects one.

The office imports the CSV the district gives out (`read_list`, then `import_list`). Each district lays its file
out its own way, so the columns are recognised by the names districts give them (`recognised`), or the person
names them. Each import replaces the district's list. A device is on the list when a row has its serial and its
address, both compared in normalised form: serials without case, spaces, dashes or dots ("RP-1001" is "rp 1001"),
addresses in the USPS abbreviations our own locations are keyed by (flowtrack/customers/addresses.py: "123 Main
Street" is "123 MAIN ST"). Where the district has no list imported there is nothing to check against, and nothing
is held back for it. A matched row's water account and meter numbers fill ours where we have none.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from defusedcsv import csv

from flowtrack.audit import services as audit
from flowtrack.core.csv_text import UnreadableText, uploaded_text
from flowtrack.core.db import new_id, utcnow
from flowtrack.customers.addresses import STATES, normalise_street
from flowtrack.models.customers import CustomerLocation, Device, DeviceStatus, District
from flowtrack.models.submissions import DistrictAssembly

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
SAVE_ROWS = 5_000
# How long an upload waits for its columns to be named.
KEEP_SECONDS = 3600
SHOWN_REFUSED = 20
SHOWN_NOT_LISTED = 10

FIELDS = {"serial": "Serial number", "address": "Address", "water_account_number": "Water account number",
          "meter_number": "Meter number"}
REQUIRED = ("serial", "address")
LENGTHS = {"serial": 64, "address": 300, "water_account_number": 40, "meter_number": 40}
# The names districts give each column, written as `_header` writes them; the earliest name the file has wins.
HEADERS = {
    "serial": ("serial", "serial number", "serial no", "serial num", "assembly serial", "assembly serial number",
               "assembly serial no", "device serial", "device serial number", "bpa serial", "backflow serial",
               "sn"),
    "address": ("address", "service address", "location address", "site address", "street address",
                "premise address", "premises address", "property address", "service location", "street",
                "location"),
    "water_account_number": ("water account", "water account number", "water account no", "water acct",
                             "account", "account number", "account no", "acct", "acct no", "utility account",
                             "customer account", "service account"),
    "meter_number": ("meter", "meter number", "meter no", "meter num", "meter id", "water meter", "meter serial"),
}
_NOT_A_WORD = re.compile(r"[^0-9a-z]+")
_SERIAL_NOISE = re.compile(r"[\s.\-]+")
_ZIP_PLUS_4 = re.compile(r"(\d{5})-?\d{4}")
_STATE_NAMES = {code: name for name, code in STATES.items()}


class UnreadableList(Exception):
    """The file cannot be imported at all; the message says why, for the upload form."""


# --- the keys rows and devices are matched on ---------------------------------------------------------------

def serial_key(text: str | None) -> str:
    """A serial as districts and testers may each type it: "RP-1001", "rp 1001" and "RP.1001" are one."""
    return _SERIAL_NOISE.sub("", text or "").upper()


def _serial_key_sql(column: so.InstrumentedAttribute[str]) -> sa.ColumnElement[str]:
    """`serial_key` in SQL, for matching many devices in one statement."""
    return sa.func.upper(sa.func.regexp_replace(column, r"[[:space:].-]+", "", "g"))


def address_key(text: str | None) -> str:
    """A district's address in our street normalisation (its city and ZIP code, if written, stay at the end)."""
    return normalise_street(text)


@dataclass(frozen=True)
class _Place:
    """One of our locations as a district's address is compared with it."""

    streets: tuple[str, ...]  # the street with our second line ("Suite 4") and without: districts often drop it
    words: frozenset[str]     # what may follow the street in a district's address: city, state, ZIP code
    shown: str                # as a reason names it: "123 MAIN ST"

    @classmethod
    def of(cls, key: str, line1: str, city: str) -> _Place:
        street, _, state, postal_code = key.split("|")
        words = {*normalise_street(city).split(), state, postal_code, "us", "usa",
                 *normalise_street(_STATE_NAMES.get(state, "")).split()}
        return cls(streets=tuple(dict.fromkeys((street, normalise_street(line1)))), words=frozenset(words),
                   shown=street.upper())

    def holds(self, row_key: str) -> bool:
        """"123 Main St", "123 Main Street, Springfield, OR 97477-1234" and ours at 123 Main St are one place."""
        for street in self.streets:
            if row_key == street:
                return True
            if street and row_key.startswith(street + " "):
                rest = row_key[len(street) + 1:].split()
                if all(_zip5(word) in self.words for word in rest):
                    return True
        return False


def _zip5(word: str) -> str:
    plus_4 = _ZIP_PLUS_4.fullmatch(word)
    return plus_4.group(1) if plus_4 else word


def _place(location: CustomerLocation) -> _Place:
    return _Place.of(location.address_key, location.address_line1, location.city)


# --- reading a district's file ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ListFile:
    header: list[str]                   # the columns as the file names them
    rows: list[tuple[int, list[str]]]   # each row's number as a spreadsheet shows it (the header is row 1)

    def column_choices(self) -> list[tuple[str, str]]:
        """Each column by its number, named as in the file with its first value, for the person to choose from."""
        first = self.rows[0][1] if self.rows else []
        choices = []
        for number, name in enumerate(self.header):
            sample = first[number].strip() if number < len(first) else ""
            label = name.strip() or f"Column {number + 1} (no name)"
            choices.append((str(number), f"{label} — “{sample[:40]}”" if sample else label))
        return choices


def _header(name: str) -> str:
    """A column's name as districts' variants compare: "Serial #", "SERIAL_NO." and "serial no" are one."""
    return " ".join(_NOT_A_WORD.sub(" ", name.lower()).split())


def _delimiter(text: str) -> str:
    """Commas, or the tabs of a spreadsheet's "text" export, or the semicolons of a European one."""
    first = text.split("\n", 1)[0]
    return next((mark for mark in (",", "\t", ";") if mark in first), ",")


def read_list(data: bytes) -> ListFile:
    """The file's columns and rows, or UnreadableList saying what is wrong with it."""
    if len(data) > MAX_BYTES:
        raise UnreadableList(f"The file is larger than {MAX_BYTES // 1048576} MB. Ask the district for the "
                             "assemblies of your customers only, or split the file.")
    try:
        text = uploaded_text(data)
    except UnreadableText as problem:
        raise UnreadableList(str(problem)) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        header: list[str] = next(reader, [])
        if not any(cell.strip() for cell in header):
            raise UnreadableList("The file is empty. Its first line must name the columns.")
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise UnreadableList(f"The file has more than {MAX_ROWS:,} rows. Ask the district for the "
                                     "assemblies of your customers only, or split the file.")
            rows.append((number, cells))
    except csv.Error as error:
        raise UnreadableList(f"Line {reader.line_num} cannot be read as CSV: {error}.") from None
    if not rows:
        raise UnreadableList("The file names its columns but has no rows.")
    return ListFile(header=header, rows=rows)


def recognised(header: list[str]) -> dict[str, int]:
    """The columns whose names say what they hold: field -> column number."""
    names = [_header(name) for name in header]
    found: dict[str, int] = {}
    for field, known in HEADERS.items():
        number = next((names.index(name) for name in known if name in names), None)
        if number is not None and number not in found.values():
            found[field] = number
    return found


def missing(columns: dict[str, int]) -> list[str]:
    return [FIELDS[field] for field in REQUIRED if field not in columns]


def parking_key(district: District, token: str) -> str:
    """Where an upload waits for its columns to be named: per company and district, so no one else's is found."""
    return f"district-list:{district.company_id}:{district.id}:{token}"


# --- importing ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Imported:
    taken: int
    refused: list[tuple[int, str]]  # row number, why
    replaced: int                   # rows of the list it replaced

    def refused_in_words(self) -> str:
        shown = "; ".join(f"row {number}: {why}" for number, why in self.refused[:SHOWN_REFUSED])
        more = len(self.refused) - SHOWN_REFUSED
        return shown + (f"; and {more:,} more" if more > 0 else "")


def _row(cells: list[str], columns: dict[str, int]) -> tuple[dict[str, str | None], str | None]:
    """A row's values by field, or why it is refused."""
    values: dict[str, str | None] = {}
    for field, number in columns.items():
        value = " ".join(cells[number].split()) if number < len(cells) else ""
        if len(value) > LENGTHS[field]:
            return values, f"the {FIELDS[field].lower()} is longer than {LENGTHS[field]} characters"
        values[field] = value or None
    if not serial_key(values.get("serial")):
        return values, "no serial number"
    if not address_key(values.get("address")):
        return values, "no address"
    return values, None


def import_list(session: so.Session, district: District, listed: ListFile, columns: dict[str, int],
                filename: str) -> Imported:
    """Replace the district's list with the file's rows (in the caller's transaction). Rows without a serial or an
    address are refused, by number; a file with no row to take is refused whole (UnreadableList), and the list
    stays as it was."""
    refused = [(number, why) for number, cells in listed.rows if (why := _row(cells, columns)[1])]
    taken = len(listed.rows) - len(refused)
    if not taken:
        raise UnreadableList(f"No row has both a serial number and an address, so nothing was imported "
                             f"({Imported(0, refused, 0).refused_in_words()}). Check which columns hold them.")
    # Two imports of one district's list at once: the second waits, then replaces the first's.
    session.execute(sa.select(District.id).where(District.id == district.id).with_for_update())
    replaced = session.execute(sa.delete(DistrictAssembly).where(DistrictAssembly.district_id == district.id)
                               ).rowcount
    # Plain rows in batches, not objects: a city's list of 100,000 assemblies goes in with little memory.
    now, batch = utcnow(), []
    for _, cells in listed.rows:
        values, why = _row(cells, columns)
        if why:
            continue
        batch.append({"id": new_id(), "company_id": district.company_id, "district_id": district.id,
                      "serial": values["serial"], "serial_key": serial_key(values["serial"]),
                      "address": values["address"], "address_key": address_key(values["address"]),
                      "water_account_number": values.get("water_account_number"),
                      "meter_number": values.get("meter_number"), "imported_at": now})
        if len(batch) == SAVE_ROWS:
            session.execute(sa.insert(DistrictAssembly), batch)
            batch = []
    if batch:
        session.execute(sa.insert(DistrictAssembly), batch)
    result = Imported(taken, refused, replaced)
    audit.record(session, "district_list.imported", entity_type="district", entity_id=district.id,
                 changes={"file": filename[:255], "rows": len(listed.rows), "taken": taken,
                          "refused": len(refused), "refused_rows": [number for number, _ in refused[:100]],
                          "replaced": replaced,
                          "columns": {field: listed.header[number] for field, number in columns.items()}})
    return result


# --- a device against the list --------------------------------------------------------------------------------

def _with_serial(session: so.Session, device: Device, district: District) -> list[DistrictAssembly]:
    return list(session.scalars(
        sa.select(DistrictAssembly)
        .where(DistrictAssembly.district_id == district.id, DistrictAssembly.serial_key == serial_key(device.serial))
        .order_by(DistrictAssembly.address)))


def _has_list(session: so.Session, district: District) -> bool:
    return bool(session.scalar(sa.select(sa.exists().where(DistrictAssembly.district_id == district.id))))


def _at(session: so.Session, place: _Place, district: District) -> list[DistrictAssembly]:
    """The list's rows at our place, whatever their serials."""
    shortest = min(place.streets, key=len)
    if not shortest:
        return []
    rows = session.scalars(sa.select(DistrictAssembly).where(
        DistrictAssembly.district_id == district.id,
        DistrictAssembly.address_key.startswith(shortest, autoescape=True)).order_by(DistrictAssembly.serial)
        .limit(50))
    return [row for row in rows if place.holds(row.address_key)]


def _listed_serials(rows: list[DistrictAssembly]) -> str:
    serials = list(dict.fromkeys(row.serial for row in rows))
    return ", ".join(serials[:-1]) + f" and {serials[-1]}" if len(serials) > 1 else serials[0]


def not_on_district_list(session: so.Session, device: Device, district: District) -> str | None:
    """Why the device is not on the district's list, in words the office can act on; None when it is, or when the
    district has no list to check against."""
    place = _place(device.location)
    same_serial = _with_serial(session, device, district)
    if any(place.holds(row.address_key) for row in same_serial):
        return None
    if not same_serial and not _has_list(session, district):
        return None
    ours = f"{device.device_type} {device.serial} at {place.shown} is not on {district.name}'s list of assemblies"
    if same_serial:
        where = " and ".join(f"at {row.address}" for row in same_serial[:3])
        return (f"{ours}: the list has serial {same_serial[0].serial} {where}. If the district's address is right, "
                "correct the location; if ours is, ask the district to correct its list, then import it again.")
    at_ours = _at(session, place, district)
    if at_ours:
        return (f"{ours}: the list has no assembly with serial {device.serial}, and at {place.shown} it has serial "
                f"{_listed_serials(at_ours)}. Correct the device's serial if it was typed wrong; if it is right, "
                "ask the district to correct its list, then import it again.")
    return (f"{ours}: the list has no assembly with serial {device.serial}. Correct the device's serial if it was "
            "typed wrong; if not, ask the district to add the assembly, then import its list again.")


def fill_from_list(session: so.Session, device: Device, district: District) -> None:
    """A matched device's water account and meter numbers from the district's row, where we have none: the
    district's forms ask for them, and its own list is where they come from. Audited as changes to the location
    and the device."""
    place = _place(device.location)
    rows = [row for row in _with_serial(session, device, district) if place.holds(row.address_key)]
    account = next((row.water_account_number for row in rows if row.water_account_number), None)
    meter = next((row.meter_number for row in rows if row.meter_number), None)
    location = device.location
    if account and not location.water_account_number:
        location.water_account_number = account
        audit.record(session, "location.updated", entity_type="location", entity_id=location.id,
                     changes={**audit.changes_between({"water_account_number": None},
                                                      {"water_account_number": account}),
                              "source": f"{district.name}'s list of assemblies"})
    if meter and not device.meter_number:
        device.meter_number = meter
        audit.record(session, "device.updated", entity_type="device", entity_id=device.id,
                     changes={**audit.changes_between({"meter_number": None}, {"meter_number": meter}),
                              "source": f"{district.name}'s list of assemblies"})


# --- the list's state, for the district's page ---------------------------------------------------------------

@dataclass(frozen=True)
class NotListed:
    device_id: uuid.UUID
    device_type: str
    serial: str
    address: str                  # ours, normalised
    listed_at: list[str]          # where the list has its serial instead, as the district wrote it


@dataclass(frozen=True)
class ListState:
    rows: int
    imported_at: dt.datetime | None
    devices: int = 0              # our active devices in the district
    matched: int = 0
    not_listed: tuple[NotListed, ...] = ()  # the first few
    not_listed_count: int = 0


def list_state(session: so.Session, district: District, shown: int = SHOWN_NOT_LISTED) -> ListState:
    """When the district's list was imported and how long it is; how many of our active devices in the district
    are on it, and the first few that are not. One statement over the devices, each joined to the list's rows with
    its serial; addresses are then compared here, as the checks compare them."""
    rows, imported_at = session.execute(
        sa.select(sa.func.count(), sa.func.max(DistrictAssembly.imported_at))
        .where(DistrictAssembly.district_id == district.id)).one()
    if not rows:
        return ListState(rows=0, imported_at=None)
    found = session.execute(
        sa.select(Device.id, Device.device_type, Device.serial, CustomerLocation.address_key,
                  CustomerLocation.address_line1, CustomerLocation.city, DistrictAssembly.address_key.label("row_key"),
                  DistrictAssembly.address)
        .join(CustomerLocation, CustomerLocation.id == Device.location_id)
        .outerjoin(DistrictAssembly, sa.and_(DistrictAssembly.district_id == district.id,
                                             DistrictAssembly.serial_key == _serial_key_sql(Device.serial)))
        .where(CustomerLocation.district_id == district.id, Device.status == DeviceStatus.active.value)
        .order_by(Device.serial, DistrictAssembly.address))
    devices: dict[uuid.UUID, tuple[bool, NotListed]] = {}
    for row in found:
        matched, seen = devices.get(row.id) or (False, None)
        place = _Place.of(row.address_key, row.address_line1, row.city)
        if seen is None:
            seen = NotListed(row.id, row.device_type, row.serial, place.shown, [])
        if row.row_key is not None:
            matched = matched or place.holds(row.row_key)
            seen.listed_at.append(row.address)
        devices[row.id] = (matched, seen)
    not_listed = [seen for matched, seen in devices.values() if not matched]
    return ListState(rows=rows, imported_at=imported_at, devices=len(devices),
                     matched=len(devices) - len(not_listed), not_listed=tuple(not_listed[:shown]),
                     not_listed_count=len(not_listed))
