"""The payer registry: who the payers are, which rulebook family each uses, and routing
a claim's lines to the rulebook in force on their dates of service."""
