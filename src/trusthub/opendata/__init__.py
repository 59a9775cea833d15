"""What everyone can use: the open-data catalogue and its CKAN-compatible API."""
