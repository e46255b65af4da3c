"""Reading claim records from files and checking them against the claim schema.

`reader` turns paths into a stream of `Record`s (one per claim, or one per problem);
`validate` checks each record's data against `schemas/claim.schema.json` before any
payer rule sees it, so rules can rely on the shape of a claim.
"""
