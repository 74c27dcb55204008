"""Who is calling and what they may do: credentials, tokens, principals, visibility, rate limits."""
