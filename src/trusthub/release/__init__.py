"""May this data leave at all: anonymisation, differential privacy and risk reports."""
