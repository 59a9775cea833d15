"""Demo identity providers: OpenID Connect providers that prove identity the GPG 45 way."""
