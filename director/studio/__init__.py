"""director studio: review, lock and regenerate shots in the browser (``director studio``)."""
