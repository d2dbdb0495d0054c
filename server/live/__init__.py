"""The live side of sessions: the registry of running sessions and their media routers, the
fan-out of messages to audiences, the effects of domain events, the periodic workers and the
reports built from what is measured. Socket handling is in server/signalling.py."""
