"""The identity broker: the hub as a relying party of certified identity providers."""
