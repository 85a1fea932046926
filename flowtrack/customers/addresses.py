"""Address normalisation: one key per place, whatever its spelling.

"123 Main Street, Suite 4" and "123  main st. ste 4" give the same key, so the
same service location is never entered twice and district submissions match.
The abbreviations are the USPS standard ones (Publication 28) for street
suffixes, directions and unit designators, and two-letter state codes.
"""
from __future__ import annotations

import re

SUFFIXES = {
    "alley": "aly", "annex": "anx", "avenue": "ave", "av": "ave", "bayou": "byu", "beach": "bch", "bend": "bnd",
    "bluff": "blf", "bottom": "btm", "boulevard": "blvd", "boul": "blvd", "branch": "br", "bridge": "brg",
    "brook": "brk", "bypass": "byp", "canyon": "cyn", "cape": "cpe", "causeway": "cswy", "center": "ctr",
    "centre": "ctr", "circle": "cir", "cliff": "clf", "club": "clb", "common": "cmn", "corner": "cor",
    "course": "crse", "court": "ct", "cove": "cv", "creek": "crk", "crescent": "cres", "crossing": "xing",
    "drive": "dr", "estate": "est", "estates": "ests", "expressway": "expy", "extension": "ext", "falls": "fls",
    "ferry": "fry", "field": "fld", "fields": "flds", "forest": "frst", "fork": "frk", "fort": "ft",
    "freeway": "fwy", "garden": "gdn", "gardens": "gdns", "gateway": "gtwy", "glen": "gln", "green": "grn",
    "grove": "grv", "harbor": "hbr", "heights": "hts", "highway": "hwy", "hill": "hl", "hills": "hls",
    "hollow": "holw", "island": "is", "junction": "jct", "key": "ky", "knoll": "knl", "lake": "lk",
    "landing": "lndg", "lane": "ln", "loop": "loop", "manor": "mnr", "meadow": "mdw", "meadows": "mdws",
    "mill": "ml", "motorway": "mtwy", "mount": "mt", "mountain": "mtn", "orchard": "orch", "parkway": "pkwy",
    "pike": "pike", "pines": "pnes", "place": "pl", "plaza": "plz", "point": "pt", "port": "prt",
    "prairie": "pr", "ranch": "rnch", "ridge": "rdg", "river": "riv", "road": "rd", "route": "rte",
    "shore": "shr", "spring": "spg", "springs": "spgs", "square": "sq", "station": "sta", "street": "st",
    "str": "st", "summit": "smt", "terrace": "ter", "trace": "trce", "trail": "trl", "tunnel": "tunl",
    "turnpike": "tpke", "valley": "vly", "view": "vw", "village": "vlg", "vista": "vis", "walk": "walk",
    "way": "way",
}
DIRECTIONS = {
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}
UNITS = {
    "apartment": "apt", "building": "bldg", "department": "dept", "floor": "fl", "room": "rm", "suite": "ste",
    "unit": "unit", "space": "spc", "lot": "lot", "number": "#", "no": "#",
}
STATES = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca", "colorado": "co",
    "connecticut": "ct", "delaware": "de", "district of columbia": "dc", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia", "kansas": "ks",
    "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md", "massachusetts": "ma",
    "michigan": "mi", "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
    "nebraska": "ne", "nevada": "nv", "new hampshire": "nh", "new jersey": "nj", "new mexico": "nm",
    "new york": "ny", "north carolina": "nc", "north dakota": "nd", "ohio": "oh", "oklahoma": "ok",
    "oregon": "or", "pennsylvania": "pa", "rhode island": "ri", "south carolina": "sc", "south dakota": "sd",
    "tennessee": "tn", "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy", "puerto rico": "pr",
}

_WORDS = {**SUFFIXES, **DIRECTIONS, **UNITS}
# Punctuation that people type but that does not change the place. "#" is a unit marker, kept as a word.
_NOISE = re.compile(r"[.,;:'\"()]+")
_SPACE = re.compile(r"\s+")
_HASH = re.compile(r"#")


def _words(text: str | None) -> list[str]:
    text = _HASH.sub(" # ", _NOISE.sub(" ", (text or "").lower()))
    return _SPACE.sub(" ", text).strip().split(" ") if text.strip() else []


def normalise_street(text: str | None) -> str:
    """A street line in USPS abbreviations, lower case, single-spaced, without punctuation."""
    words = [_WORDS.get(word, word) for word in _words(text)]
    # "Apt # 4" and "Apt 4" are the same unit.
    collapsed = [w for i, w in enumerate(words) if not (w == "#" and i > 0 and words[i - 1] in UNITS.values())]
    return " ".join(collapsed)


def normalise_city(text: str | None) -> str:
    return " ".join(_words(text))


def normalise_state(text: str | None) -> str:
    name = normalise_city(text)
    return STATES.get(name, name)


def normalise_postal_code(text: str | None) -> str:
    """US ZIP codes compare on their first five digits (ZIP+4 or not); other codes without spaces."""
    code = _SPACE.sub("", (text or "").lower()).replace("-", "")
    return code[:5] if code.isdigit() and len(code) in (5, 9) else code


def address_key(line1: str | None, line2: str | None, city: str | None, state: str | None,
                postal_code: str | None) -> str:
    """The key that two spellings of the same place share."""
    street = " ".join(part for part in (normalise_street(line1), normalise_street(line2)) if part)
    return "|".join((street, normalise_city(city), normalise_state(state), normalise_postal_code(postal_code)))
