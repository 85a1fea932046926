"""What a customer approves on a quote is, to the cent, what the invoice of its work order asks: the same lines,
the same tax, whichever optional items they took."""
import uuid

from hypothesis import given
from hypothesis import strategies as st

from flowtrack.invoices import services as invoices
from flowtrack.models.quotes import QuoteLine
from flowtrack.quotes import services

lines_of_a_quote = st.lists(st.builds(
    lambda quantity, price, taxable, optional: QuoteLine(id=uuid.uuid4(), version=1, description="Line",
                                                         quantity=quantity, unit_price_cents=price,
                                                         taxable=taxable, optional=optional),
    st.integers(1, 10000), st.integers(0, 100_000_000), st.booleans(), st.booleans()), min_size=1, max_size=12)


@given(lines_of_a_quote, st.integers(0, 5000), st.data())
def test_the_approved_total_is_the_invoices_total_to_the_cent(lines, rate_bp, data):
    optional = [line.id for line in lines if line.optional]
    chosen = set(data.draw(st.lists(st.sampled_from(optional), unique=True))) if optional else set()
    quoted = services.totals(lines, rate_bp, chosen)
    taken = [line for line in lines if not line.optional or line.id in chosen]
    invoiced = invoices.totals([invoices.new_line(line.description, line.quantity, line.unit_price_cents,
                                                  taxable=line.taxable) for line in taken], rate_bp)
    assert (quoted.subtotal_cents, quoted.tax_cents, quoted.total_cents) == invoiced
    assert quoted.total_cents == quoted.subtotal_cents + quoted.tax_cents
    # Every optional item left out takes exactly its amount (and its tax) off.
    assert services.totals(lines, rate_bp, None).subtotal_cents - quoted.subtotal_cents == \
        sum(line.amount_cents for line in lines if line.optional and line.id not in chosen)
