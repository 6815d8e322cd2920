"""The federated-learning world: what a client computes and what it shares with the server."""
