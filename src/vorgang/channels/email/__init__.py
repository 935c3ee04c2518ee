"""The e-mail channel: intake (LMTP, IMAP, pipe), parsing, filters, outbound."""
