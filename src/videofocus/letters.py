"""The letters that name a question's options, in order. The sample format, the prompts and the
completion parser share them; a module of its own so that the parser does not import the sample
schema (pydantic) with them."""

OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
