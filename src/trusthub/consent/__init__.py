"""What the citizen has chosen: the national data opt-out, objections and consents."""
