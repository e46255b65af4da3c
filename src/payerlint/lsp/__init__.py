"""`payerlint lsp`: a language server for `.rules` files (pygls, the optional extra
`payerlint[lsp]`)."""
