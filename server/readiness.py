"""Whether this process takes new work: false from the moment it starts draining (SIGTERM in
a cluster, server/cluster/node.py), for the readiness check and the cluster's placement."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass
class Readiness:
    draining: bool = False


READINESS = web.AppKey("readiness", Readiness)
