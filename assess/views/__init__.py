"""Web views: one blueprint per module, thin shells over the domain functions."""
