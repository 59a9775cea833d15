"""The hub's OpenID Connect provider: Authlib and joserfc configured, no protocol rewritten."""
