"""The inventory manager, at a desk, receives a delivery into the warehouse, moves some to a technician's van, sets
a low-stock level and reads the reorder list: a spring a technician fitted that the books did not show comes first,
below zero."""
from flowtrack.inventory import services
from flowtrack.models.inventory import Part, StockPlace
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE
from tests.inventory.factories import Stock

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""


def test_the_inventory_manager_receives_stock_fills_a_van_and_reads_the_reorder_list(app, visit, acme):
    stock = Stock(app)
    kit = stock.part(acme, sku="W-009-RK", name="Watts 009 total rubber kit", unit_price_cents=7900)
    spring = stock.part(acme, sku="ZRN-350-SPR", name="Zurn 350 check spring", kind="spring", device_types=["DC"])
    stock.place(acme, "Main warehouse")
    van = stock.place(acme, "Theo's van", van_of=acme.members["technician"])
    with Records(app).session(acme) as session:  # a spring fitted from the van before it was on the books
        services.adjust(session, session.get(Part, spring.id), session.get(StockPlace, van.id), -1, by=None,
                        reason="Fitted at Harbor Dairy")
    manager = acme.members["inventory_manager"]

    desk = visit(DESKTOP)
    desk.sign_in(manager.email, manager.password)
    page = desk.page
    card = page.locator("section.card", has_text="Parts stock")
    assert "1 stock level below zero" in card.inner_text()

    desk.go("/inventory/")
    page.click("text=Watts 009 total rubber kit")
    page.wait_for_selector("h1:has-text('Watts 009 total rubber kit')")
    page.click("text=Receive Watts 009 total rubber kit")
    page.wait_for_selector("h1:has-text('Receive stock')")
    assert page.locator("#part option:checked").inner_text() == "Watts 009 total rubber kit (W-009-RK)"
    page.select_option("#place", label="Main warehouse")
    page.fill("#quantity", "6")
    page.fill("#reason", "Ferguson invoice 4471")
    desk.screenshot("receiving")
    page.click("button:has-text('Receive')")
    page.wait_for_selector("text=Received 6 × Watts 009 total rubber kit into Main warehouse.")

    page.click("a[aria-label='Transfer Watts 009 total rubber kit from Main warehouse']")
    page.wait_for_selector("h1:has-text('Transfer stock')")
    page.select_option("#target", label="Theo's van")
    page.fill("#quantity", "4")
    page.click("button:has-text('Transfer')")
    page.wait_for_selector("text=Moved 4 × Watts 009 total rubber kit from Main warehouse to Theo's van.")
    page.select_option("#place", label="Main warehouse")
    page.fill("#low_threshold", "3")
    page.click("button:has-text('Set the low-stock level')")
    page.wait_for_selector("text=Low-stock level saved.")
    rows = page.locator("#stock-heading + table tbody tr")
    assert [[" ".join(cell.split()) for cell in rows.nth(n).locator("td").all_inner_texts()[:3]]
            for n in range(rows.count())] == [["Main warehouse", "2 low", "3"], ["Theo's van", "4", "0"]]
    movements = page.locator("#movements-heading + table tbody tr").all_inner_texts()
    assert [row.split("\t")[1] for row in movements][:3] == [
        "Transferred in (from Main warehouse)", "Transferred out (to Theo's van)", "Received"]
    desk.screenshot("part")

    desk.go("/inventory/")
    row = page.locator(f"#part-{kit.id}")
    assert row.locator("td[data-label='Main warehouse']").inner_text().split() == ["2", "low"]
    assert row.locator("td[data-label=\"Theo's van\"]").inner_text().strip() == "4"
    assert page.evaluate(OVERFLOW) == []
    desk.screenshot("parts")

    page.click("a:has-text('Reorder list')")
    page.wait_for_selector("h1:has-text('Reorder list')")
    listed = [" ".join(text.split()) for text in page.locator("main table tbody tr").all_inner_texts()]
    assert listed[0].startswith("Zurn 350 check spring ZRN-350-SPR Theo's van -1 below zero")
    assert listed[1].startswith("Watts 009 total rubber kit W-009-RK Main warehouse 2 low 3")
    assert len(listed) == 2
    assert page.evaluate(OVERFLOW) == []
    desk.screenshot("reorder")
    assert desk.axe_violations() == []
    desk.assert_clean()


def test_a_technician_reads_what_is_in_their_van_on_the_phone(app, visit, acme):
    stock = Stock(app)
    technician = acme.members["technician"]
    van = stock.place(acme, "Theo's van", van_of=technician)
    kit = stock.part(acme, sku="W-009-RK", name="Watts 009 total rubber kit")
    stock.receive(acme, kit, van, 3)
    seat = stock.part(acme, sku="W-007-SEAT", name="Watts 007 check seat", kind="seat", device_types=["DC"])
    with Records(app).session(acme) as session:
        services.set_threshold(session, session.get(Part, seat.id), session.get(StockPlace, van.id), 1)

    phone = visit(PHONE)
    phone.sign_in(technician.email, technician.password)
    page = phone.go("/inventory/van")
    assert page.locator("h1").inner_text() == "Theo's van"
    rows = [" ".join(text.split()) for text in page.locator("main table tbody tr").all_inner_texts()]
    assert rows == ["Watts 007 check seat W-007-SEAT 0 low", "Watts 009 total rubber kit W-009-RK 3"]
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("van")
    assert phone.axe_violations() == []
    phone.assert_clean()
