"""The bridge: a node's link to the other nodes (docs/network.md)."""
