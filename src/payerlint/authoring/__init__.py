"""Tools for people who write rulebooks: rulebook tests (`payerlint test`) and the
language server (`payerlint lsp`)."""
