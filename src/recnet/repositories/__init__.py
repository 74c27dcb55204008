"""SQL that services and auth share: queries, kept apart from the rules that use them."""
