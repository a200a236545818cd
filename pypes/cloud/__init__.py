"""Where a composite's subgraph runs: providers of Pypes worker instances."""
