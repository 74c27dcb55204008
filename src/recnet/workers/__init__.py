"""Long-running loops (webhook delivery), apart from the request/response code that feeds them."""
