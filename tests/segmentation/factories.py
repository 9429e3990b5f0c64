"""factory_boy factories of the segmentation models."""

import factory

from segmentation.models import Segment


class SegmentFactory(factory.django.DjangoModelFactory):
    """A rule segment; pass ``definition`` (see tests/segmentation/segment_factories.rule and group)."""

    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"Segment {n}")
    kind = Segment.Kind.RULE
    definition = factory.LazyFunction(lambda: {"op": "and", "rules": []})
