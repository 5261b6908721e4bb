"""Member cards: numbers with a check digit, rotating signed QR tokens, reissue."""
