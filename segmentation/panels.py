"""The "Segments" card of the customer page (registered in SegmentationConfig.ready)."""

from .selectors import segment_list_for_customer


def segments_panel_context(request, customer) -> dict | None:
    # The customer page has checked that the user may see this customer; segment names are not
    # restricted (every role may read the segment list), so nothing more to check here.
    memberships = segment_list_for_customer(customer=customer)
    return {"memberships": memberships}
