"""The inventory manager keeps the parts and their stock: the warehouse and the vans, receiving, transfers, counts
and adjustments (each audited), and the reorder list; who may see and do what."""
import re

import pytest

from tests.customers.test_customers import audit_entries
from tests.inventory.factories import Stock


@pytest.fixture
def stock(app) -> Stock:
    return Stock(app)


@pytest.fixture
def manager(login, acme):
    return login(acme, "inventory_manager")


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)


def test_the_inventory_manager_sets_up_places_adds_a_part_receives_it_and_fills_a_van(app, manager, acme, stock):
    technician = acme.members["technician"]
    assert manager.submit("/inventory/places", {"name": "Main warehouse", "kind": "warehouse"}).status_code == 303
    assert manager.submit("/inventory/places", {"name": "Theo's van", "kind": "van",
                                                "technician": str(technician.user_id)}).status_code == 303
    places = manager.get("/inventory/places").text
    assert "Main warehouse" in places and "Theo&#39;s van" in places

    added = manager.submit("/inventory/parts/new", {
        "sku": "w-009 rk", "name": "Watts 009 total rubber kit", "kind": "repair_kit", "unit_cost": "18.50",
        "unit_price": "42.00", "device_types": ["RP", "RPDA"]})
    assert added.status_code == 303
    part_url = added.headers["Location"]
    page = manager.get(part_url).text
    assert "W-009 RK" in page and "$18.50" in page and "$42.00" in page and "RP, RPDA" in page

    form = manager.get(f"/inventory/receive?part={part_url.rsplit('/', 1)[1]}").text
    part_id = part_url.rsplit("/", 1)[1]
    assert f'<option selected value="{part_id}">' in form
    warehouse, van = _place_ids(manager)
    received = manager.submit("/inventory/receive", {"part": part_id, "place": warehouse, "quantity": "10",
                                                     "reason": "Ferguson invoice 4471", "form_key": _form_key(form)},
                              follow_redirects=True)
    assert "Received 10 × Watts 009 total rubber kit into Main warehouse." in received.text
    moved = manager.submit("/inventory/transfer", {"part": part_id, "place": warehouse, "target": van,
                                                   "quantity": "3"}, follow_redirects=True)
    assert "Moved 3 × Watts 009 total rubber kit from Main warehouse to Theo&#39;s van." in moved.text

    listing = manager.get("/inventory/").text
    row = re.search(rf'<tr id="part-{part_id}">(.*?)</tr>', listing, re.S).group(1)
    assert re.findall(r'<td data-label="(Main warehouse|Theo&#39;s van)">\s*(\d+)', row) == \
        [("Main warehouse", "7"), ("Theo&#39;s van", "3")]
    ledger = manager.get(part_url).text
    assert "Transferred in (from Main warehouse)" in ledger and "Transferred out (to Theo&#39;s van)" in ledger
    assert "Ferguson invoice 4471" in ledger and "Inventory Manager Person" in ledger

    assert [e.changes["name"] for e in audit_entries(app, acme, "stock_place.created")] == \
        ["Main warehouse", "Theo's van"]
    assert audit_entries(app, acme, "part.created")[0].changes["sku"] == {"before": None, "after": "W-009 RK"}
    assert audit_entries(app, acme, "stock.received")[0].changes == {
        "part": "W-009 RK", "place": "Main warehouse", "quantity": 10, "on_hand_after": 10,
        "reason": "Ferguson invoice 4471"}
    assert audit_entries(app, acme, "stock.transferred")[0].changes == {
        "part": "W-009 RK", "from": "Main warehouse", "to": "Theo's van", "quantity": 3, "from_on_hand_after": 7,
        "to_on_hand_after": 3}

    # The technician sees their own van on the phone, and nothing of the office's pages.
    van_page = _signed_in(app, technician).get("/inventory/van")
    assert "Theo&#39;s van" in van_page.text and "Watts 009 total rubber kit" in van_page.text
    assert _signed_in(app, technician).get("/inventory/").status_code == 403


def _signed_in(app, member):
    browser = app.test_client()
    browser.sign_in_as(member)
    return browser


def _place_ids(browser) -> list[str]:
    page = browser.get("/inventory/receive").text
    select = re.search(r'<select id="place" name="place">(.*?)</select>', page, re.S).group(1)
    return [value for value in re.findall(r'value="([^"]*)"', select) if value]


def test_a_count_sets_the_stock_and_an_adjustment_needs_its_reason(app, manager, acme, stock):
    part, warehouse = stock.part(acme, name="Febco 765 check disc"), stock.place(acme, "Main warehouse")
    stock.receive(acme, part, warehouse, 12)
    counted = manager.submit("/inventory/count", {"part": str(part.id), "place": str(warehouse.id),
                                                  "quantity": "9", "reason": "Shelf count"}, follow_redirects=True)
    assert "Febco 765 check disc at Main warehouse counted: 9." in counted.text
    assert stock.on_hand(warehouse, part) == 9
    assert audit_entries(app, acme, "stock.counted")[0].changes == {
        "part": part.sku, "place": "Main warehouse", "quantity": -3, "on_hand_after": 9, "reason": "Shelf count",
        "on_hand_before": 12, "counted": 9}

    no_reason = manager.submit("/inventory/adjust", {"part": str(part.id), "place": str(warehouse.id),
                                                     "quantity": "-2", "reason": " "})
    assert no_reason.status_code == 422 and "Say why the stock changes." in no_reason.text
    adjusted = manager.submit("/inventory/adjust", {"part": str(part.id), "place": str(warehouse.id),
                                                    "quantity": "-2", "reason": "Two discs cracked"},
                              follow_redirects=True)
    assert "Febco 765 check disc at Main warehouse adjusted by -2: 7." in adjusted.text
    assert [(m.kind, m.quantity, m.on_hand_after) for m in stock.movements(part)] == [
        ("received", 12, 12), ("counted", -3, 9), ("adjusted", -2, 7)]
    assert audit_entries(app, acme, "stock.adjusted")[0].changes["reason"] == "Two discs cracked"


def test_the_reorder_list_puts_stock_below_zero_first_then_what_is_low(app, manager, acme, stock, login):
    kit, spring = stock.part(acme, name="Watts 009 total rubber kit"), stock.part(acme, name="Zurn 350 spring")
    plenty = stock.part(acme, name="Wilkins 975XL relief valve rubber kit")
    warehouse, van = stock.place(acme, "Main warehouse"), stock.place(acme, "Theo's van",
                                                                      van_of=acme.members["technician"])
    stock.receive(acme, kit, warehouse, 2)
    stock.receive(acme, plenty, warehouse, 20)
    assert manager.submit(f"/inventory/parts/{kit.id}/threshold", {"place": str(warehouse.id),
                                                                   "low_threshold": "3"}).status_code == 303
    manager.submit("/inventory/adjust", {"part": str(spring.id), "place": str(van.id), "quantity": "-1",
                                         "reason": "Fitted, not yet on the books"})
    page = manager.get("/inventory/reorder").text
    names = re.findall(r'<a href="/inventory/parts/[^"]+">([^<]+)</a>', page)
    assert names == ["Zurn 350 spring", "Watts 009 total rubber kit"]
    assert "below zero" in page and "Wilkins" not in page
    assert audit_entries(app, acme, "stock.threshold_set")[0].changes["low_threshold"] == {"before": 0, "after": 3}

    dashboard = manager.get("/dashboard/").text
    assert "1 stock level</strong> below zero" in dashboard and "2 stock levels</strong> on the reorder list" in \
        dashboard
    assert "1 stock level below zero" in manager.get("/inventory/").text
    assert "below zero" in login(acme, "company_admin").get("/dashboard/").text


def test_a_double_click_receives_once(app, manager, acme, stock):
    part, warehouse = stock.part(acme), stock.place(acme)
    form = {"part": str(part.id), "place": str(warehouse.id), "quantity": "4",
            "form_key": _form_key(manager.get("/inventory/receive").text)}
    assert manager.submit("/inventory/receive", form).status_code == 303
    assert manager.submit("/inventory/receive", form).status_code == 303
    assert stock.on_hand(warehouse, part) == 4 and len(stock.movements(part)) == 1


def test_bad_input_gets_a_form_message_and_changes_nothing(app, manager, acme, bravo, stock):
    part, warehouse, shop = stock.part(acme, sku="ZR-350"), stock.place(acme), stock.place(acme)
    stock.receive(acme, part, warehouse, 2)
    theirs = stock.part(bravo)
    cases = [
        ("/inventory/receive", {"part": str(part.id), "place": str(warehouse.id), "quantity": "lots"},
         "Enter a whole number, like 12."),
        ("/inventory/receive", {"part": str(part.id), "place": str(warehouse.id), "quantity": "0"},
         "Enter a quantity from 1 to 100,000."),
        ("/inventory/receive", {"part": str(theirs.id), "place": str(warehouse.id), "quantity": "1"},
         "Choose a part."),
        ("/inventory/transfer", {"part": str(part.id), "place": str(warehouse.id), "target": str(warehouse.id),
                                 "quantity": "1"}, "Choose two different places."),
        ("/inventory/transfer", {"part": str(part.id), "place": str(warehouse.id), "target": str(shop.id),
                                 "quantity": "5"}, f"{warehouse.name} holds 2 of"),
        ("/inventory/count", {"part": str(part.id), "place": str(warehouse.id), "quantity": "-1"},
         "Enter the number counted, from 0 to 100,000."),
        ("/inventory/adjust", {"part": str(part.id), "place": str(warehouse.id), "quantity": "0", "reason": "x"},
         "A change of 0 changes nothing."),
        ("/inventory/parts/new", {"sku": "zr-350", "name": "Another", "kind": "spring", "unit_cost": "1",
                                  "unit_price": "2"}, "SKU ZR-350 is already another part&#39;s."),
        ("/inventory/parts/new", {"sku": "X1", "name": "Spring", "kind": "spring", "unit_cost": "cheap",
                                  "unit_price": "2"}, "Enter a number of dollars and cents, like 85.00."),
        ("/inventory/places", {"name": "Van", "kind": "van"}, "Choose the technician whose van it is."),
        (f"/inventory/parts/{part.id}/threshold", {"place": str(warehouse.id), "low_threshold": "-3"},
         "Enter a level from 0 to 100,000."),
    ]
    for url, form, message in cases:
        response = manager.submit(url, form)
        assert response.status_code == 422, (url, form, response.status_code)
        assert message in response.text, (url, form)
    assert stock.on_hand(warehouse, part) == 2 and len(stock.movements(part)) == 1


def test_another_companys_part_is_not_found(manager, bravo, stock):
    theirs = stock.part(bravo)
    assert manager.get(f"/inventory/parts/{theirs.id}").status_code == 404
    assert manager.get(f"/inventory/parts/{theirs.id}/edit").status_code == 404
    assert manager.submit(f"/inventory/parts/{theirs.id}/threshold", {"low_threshold": "2"}).status_code == 404


@pytest.mark.parametrize("role, views, manages, van", [
    ("company_admin", True, True, False), ("manager", True, True, False), ("inventory_manager", True, True, False),
    ("scheduler", True, False, False), ("coordinator", False, False, False), ("technician", False, False, True),
    ("auditor", False, False, False), ("customer", False, False, False), ("district_admin", False, False, False)])
def test_each_role_reaches_the_inventory_as_the_matrix_says(app, acme, login, stock, role, views, manages, van):
    part, warehouse = stock.part(acme), stock.place(acme)
    browser = login(acme, role)
    for url in ("/inventory/", "/inventory/places", "/inventory/reorder", f"/inventory/parts/{part.id}"):
        assert browser.get(url).status_code == (200 if views else 403), url
    for url in ("/inventory/receive", "/inventory/transfer", "/inventory/count", "/inventory/adjust",
                "/inventory/parts/new", f"/inventory/parts/{part.id}/edit"):
        assert browser.get(url).status_code == (200 if manages else 403), url
    received = browser.submit("/inventory/receive", {"part": str(part.id), "place": str(warehouse.id),
                                                     "quantity": "1"})
    assert received.status_code == (303 if manages else 403)
    assert stock.on_hand(warehouse, part) == (1 if manages else None)
    assert browser.get("/inventory/van").status_code == (200 if van else 403)
    if views and not manages:
        assert "Receive" not in browser.get(f"/inventory/parts/{part.id}").text
