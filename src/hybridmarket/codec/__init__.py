"""Pure codecs: borsh and Anchor's discriminators. No I/O."""
