"""The "Segments" card of the customer page (registered from SegmentationConfig.ready)."""

from customers import panels

from .selectors import segment_list_for_customer


def segments_panel_context(request, customer) -> dict | None:
    # The customer page has checked that the user may see this customer; segment names are not
    # restricted (every role may read the segment list), so nothing more to check here.
    memberships = segment_list_for_customer(customer=customer)
    return {"memberships": memberships}


def register() -> None:
    panels.register("segments", "segmentation/_customer_panel.html", segments_panel_context, order=30)
