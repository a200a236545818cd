"""HTTP routers: thin adapters that each make one engine call."""
