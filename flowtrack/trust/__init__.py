"""The public security page (/security): the promises FlowTrack makes, each tied to the tests that back it."""
