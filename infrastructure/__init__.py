"""Infrastructure: the FalkorDB data-access layer, server handling, fakes and messaging."""
