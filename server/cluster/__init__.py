"""Several Circle processes on one Redis (docs/cluster.md): each process registers itself as a
node with a lease, each running session is owned by one node with a lease, a session without a
live owner is placed on the least-loaded node, and a join reaching another node is redirected to
the owner."""
