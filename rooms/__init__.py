"""Circle's domain: sessions, rooms, participants, and the analytics over them.

Pure logic: no sockets, no media, no clock reads (times are passed in, in seconds)."""
