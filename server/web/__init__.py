"""HTTP and WebSocket layer: parse, authorize, call an action. It never writes tables."""
