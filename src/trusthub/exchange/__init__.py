"""May this request be answered, and with what: the policy decision and data minimisation."""
